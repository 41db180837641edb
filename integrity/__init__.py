"""Domain package of the integrity assistant: content, organisation profiles and routing.

Pure Python + PyYAML so that both virtualenvs (Rasa's Python 3.10 and the main one) can import it.
"""
