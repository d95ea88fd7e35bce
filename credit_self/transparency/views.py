"""Routes of the transparency capability (thin: validation and data work live beside them)."""
from flask import Blueprint, Flask

bp = Blueprint("transparency", __name__)


def init_app(app: Flask) -> None:
    """Register this capability's blueprints, CLI commands and template helpers."""
    app.register_blueprint(bp)
