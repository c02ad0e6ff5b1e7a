"""The web app (`daguerre serve`): FastAPI, Jinja2 templates and htmx over the archive and the job runner."""
