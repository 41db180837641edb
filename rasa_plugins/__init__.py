"""Extensions loaded by the Rasa server (Python 3.10, .venv-rasa), configured in endpoints.yml."""
