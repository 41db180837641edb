"""Extensions loaded by the Rasa server (Python 3.10, .venv-rasa), configured in endpoints.yml and config.yml.

Importing the package also makes Rasa validate action server responses with a validator built once
(rasa_plugins/action_validation.py); in the main virtualenv, where Rasa is not installed, that does nothing.
"""

from rasa_plugins.action_validation import install

install()
