"""The bot tokens the tests use: a module of its own, so any test file can import them
(``from conftest import`` resolves to whichever conftest.py is first on sys.path)."""

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OTHER_TOKEN = "654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
