"""The browser editor (`python app.py`): a canvas page of our own.

core.py: tabs (session, source image, last samples) and the actions, no
HTTP; methods.py: the one door to the method registry; server.py: the
standard-library HTTP server and its JSON routes; static/: the page.
"""
