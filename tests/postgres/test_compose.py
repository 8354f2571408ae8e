"""docker-compose.yml, read as Docker Compose reads it (YAML with its anchors and merge keys):
the services the README's "Running for a team" promises, wired to one store and one folder.
The image it builds is the Dockerfile that tests/runtime's container test builds and runs."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def command(service: dict) -> str:
    return " ".join(service["command"])


def test_postgres_has_a_healthcheck_and_migrate_runs_once_after_it():
    found = services()
    assert "pg_isready" in " ".join(found["postgres"]["healthcheck"]["test"])
    migrate = found["migrate"]
    assert command(migrate) == "keras-explainer migrate"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"


def test_two_api_replicas_run_no_keras_and_workers_take_the_checks():
    found = services()
    apis = [found["api-1"], found["api-2"]]
    assert all("serve" in command(api) and "--workers 0" in command(api) for api in apis)
    assert {api["ports"][0] for api in apis} == {"8001:8000", "8002:8000"}
    worker = found["worker"]
    assert command(worker).startswith("keras-explainer worker")
    assert worker["deploy"]["replicas"] == 2


def test_every_replica_and_worker_shares_the_store_and_the_folder():
    found = services()
    postgres = found["postgres"]["environment"]
    url = (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    for name in ("api-1", "api-2", "worker"):
        service = found[name]
        environment = service["environment"]
        assert environment["KEX_STORE_URL"] == url, name
        assert f"shared:{environment['KEX_SHARED_DIR']}" in service["volumes"], name
        assert service["depends_on"]["migrate"]["condition"] == ("service_completed_successfully")
        assert service["build"] == "." and service["image"] == "keras-explainer", name
    assert found["migrate"]["environment"]["KEX_STORE_URL"] == url
