"""Health: the model and runner (`core`), this project's checks (`registry`), the endpoints (`routes`)."""

from .core import Check, ComponentHealth, Health, HealthReport, HealthRunner, Status

__all__ = ["Check", "ComponentHealth", "Health", "HealthReport", "HealthRunner", "Status"]
