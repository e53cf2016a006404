from lehnz.cli import app

app()
