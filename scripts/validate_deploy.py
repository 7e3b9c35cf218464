#!/usr/bin/env python3
"""Checks adsync's deployment files; run by scripts/validate-deploy.sh, which installs what this
needs (PyYAML, jsonschema, kubernetes-validate, promtool) first.

What it checks, each failure printed as `FAIL <file>: <why>`; the exit status is 1 if any failed:

- Kubernetes: every overlay under deploy/k8s/overlays is rendered (kustomize), and every resource
  is validated: built-in kinds with kubernetes-validate (its offline schemas, strict: unknown
  fields fail) for the oldest and newest Kubernetes versions checked, the KEDA, Prometheus
  Operator, RabbitMQ Cluster Operator and CloudNativePG kinds against the local schemas in
  deploy/schemas. The files of base and components
  are validated one by one as well. Then what a schema cannot see: exactly one autoscaler for the
  workers, probes on /healthz and /readyz, requests and limits, a PodDisruptionBudget and a
  Service for each Deployment, ServiceMonitor ports that exist, no Secret in the repository,
  every ADSYNC__ variable naming a real configuration key, and the KEDA queue pattern matching
  every connector's job queues and not the dead-letter queue.
- Rendering: `kubectl kustomize` when kubectl is installed, else the small renderer below, which
  supports only what these kustomizations use (resources, components, namespace, images,
  strategic-merge patches from files) and refuses anything else. When kubectl is there, both
  render and their outputs must agree, so the fallback stays honest.
- The Dockerfile: stages referenced exist, the binaries built are real binaries of the
  workspace and are the ones copied, the final stage runs as a non-root user; .dockerignore
  keeps every workspace member and config/default.toml in the build context.
- docker-compose.yml against the Compose Specification subset in deploy/schemas, plus references:
  depends_on targets, named volumes, bind-mounted files, health checks, configuration keys.
- The Grafana dashboard: JSON shape, unique panel ids, and every PromQL expression parsed by
  `promtool check rules` (written into a temporary rule file).
- Metric names used by the dashboard and the alerts: those the code does not declare yet must be
  listed in README.md's operations section (so a typo fails, and the list of names still to add stays true).
- README.md's operations section's configuration reference names every key of config/default.toml with its
  default and its environment variable.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SCHEMAS = DEPLOY / "schemas"
OPERATIONS = ROOT / "README.md"

# The oldest Kubernetes version the manifests must work on, and the newest schemas shipped.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]

CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.schema.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.schema.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster.schema.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.schema.json",
}

# Environment variables adsync reads that are not configuration keys.
NON_KEY_VARIABLES = {"ADSYNC_CONFIG"}

failures: list[str] = []


def fail(where: object, why: str) -> None:
    failures.append(f"FAIL {where}: {why}")
    print(failures[-1])


def ok(what: str) -> None:
    print(f"ok   {what}")


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def load_yaml_docs(path: Path) -> list[dict]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def resource_id(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('name')}"


# ---------------------------------------------------------------------------------------------
# Configuration keys (config/default.toml)
# ---------------------------------------------------------------------------------------------


def flatten(table: dict, prefix: str = "") -> dict[str, object]:
    keys: dict[str, object] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            keys.update(flatten(value, f"{path}."))
        else:
            keys[path] = value
    return keys


DEFAULTS = tomllib.loads((ROOT / "config" / "default.toml").read_text())
CONFIG_KEYS = flatten(DEFAULTS)
# Each platform's section has its defaults in its folder: connectors/src/<platform>/config.toml.
PLATFORM_DEFAULTS = {path.parent.name: tomllib.loads(path.read_text())
                     for path in sorted(ROOT.glob("connectors/src/*/config.toml"))}
CONNECTORS = sorted(PLATFORM_DEFAULTS)
PLATFORM_KEYS = {f"connectors.{name}.{key}": value
                 for name, table in PLATFORM_DEFAULTS.items() for key, value in flatten(table).items()}


def env_name(key: str) -> str:
    return "ADSYNC__" + key.upper().replace(".", "__")


def check_env_variable(where: str, name: str) -> None:
    if name in NON_KEY_VARIABLES or not name.startswith("ADSYNC"):
        return
    if not name.startswith("ADSYNC__"):
        fail(where, f"{name}: adsync reads ADSYNC__<SECTION>__<KEY>; this name is ignored")
        return
    key = name[len("ADSYNC__"):].lower().replace("__", ".")
    if key in CONFIG_KEYS or key in PLATFORM_KEYS or re.fullmatch(r"crypto\.keys\.[a-z0-9_]+", key):
        return
    fail(where, f"{name} names no key of config/default.toml or of a connectors/src/<platform>/config.toml "
                f"({key}); the process would refuse to start")


# ---------------------------------------------------------------------------------------------
# Kustomize: kubectl, or a small renderer for what our kustomizations use
# ---------------------------------------------------------------------------------------------

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "ClusterTriggerAuthentication",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "components", "namespace", "images", "patches"}


class RenderError(Exception):
    pass


def read_kustomization(directory: Path) -> dict:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            data = yaml.safe_load((directory / name).read_text()) or {}
            unsupported = set(data) - SUPPORTED_FIELDS
            if unsupported:
                raise RenderError(f"{rel(directory / name)}: the fallback renderer does not support "
                                  f"{sorted(unsupported)}; install kubectl or extend scripts/validate_deploy.py")
            return data
    raise RenderError(f"{rel(directory)} has no kustomization.yaml")


def strategic_merge(target, patch):
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            merged[key] = strategic_merge(target[key], value) if key in target else copy.deepcopy(value)
        return merged
    if (isinstance(target, list) and isinstance(patch, list)
            and all(isinstance(i, dict) and "name" in i for i in target + patch)):
        # As kustomize does: items new to the list come first, in the patch's order, then the
        # target's items, each merged with the patch item of the same name.
        merged = [copy.deepcopy(i) for i in target]
        added = []
        for item in patch:
            for index, existing in enumerate(merged):
                if existing["name"] == item["name"]:
                    merged[index] = strategic_merge(existing, item)
                    break
            else:
                added.append(copy.deepcopy(item))
        return added + merged
    return copy.deepcopy(patch)


def pod_specs(doc: dict) -> list[dict]:
    spec = doc.get("spec") or {}
    kind = doc.get("kind")
    if kind == "Pod":
        return [spec]
    if kind == "CronJob":
        return [spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})]
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return [spec.get("template", {}).get("spec", {})]
    return []


def apply_transformers(directory: Path, data: dict, docs: list[dict]) -> list[dict]:
    for patch_entry in data.get("patches") or []:
        if set(patch_entry) != {"path"}:
            raise RenderError(f"{rel(directory)}: the fallback renderer supports only `patches: - path: <file>`")
        for patch in load_yaml_docs(directory / patch_entry["path"]):
            matches = [d for d in docs if d.get("kind") == patch.get("kind")
                       and d["metadata"]["name"] == patch["metadata"]["name"]]
            if len(matches) != 1:
                raise RenderError(f"{rel(directory / patch_entry['path'])}: patch matches {len(matches)} resources")
            docs[docs.index(matches[0])] = strategic_merge(matches[0], patch)
    for image in data.get("images") or []:
        for doc in docs:
            for spec in pod_specs(doc):
                for container in spec.get("containers", []) + spec.get("initContainers", []):
                    name = re.split(r"[:@]", container.get("image", ""), maxsplit=1)[0]
                    if name != image["name"]:
                        continue
                    new = image.get("newName", name)
                    if "digest" in image:
                        new += "@" + image["digest"]
                    elif "newTag" in image:
                        new += ":" + str(image["newTag"])
                    container["image"] = new
    if "namespace" in data:
        for doc in docs:
            if doc.get("kind") not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = data["namespace"]
    return docs


def render_fallback(directory: Path, expected_kind: str = "Kustomization") -> list[dict]:
    data = read_kustomization(directory)
    kind = data.get("kind", "Kustomization")
    if kind != expected_kind:
        raise RenderError(f"{rel(directory)}: expected a {expected_kind}, found {kind}")
    docs: list[dict] = []
    for entry in data.get("resources") or []:
        path = (directory / entry).resolve()
        docs += render_fallback(path) if path.is_dir() else load_yaml_docs(path)
    for entry in data.get("components") or []:
        component_dir = (directory / entry).resolve()
        component = read_kustomization(component_dir)
        if component.get("kind") != "Component":
            raise RenderError(f"{rel(component_dir)} is listed as a component but is a {component.get('kind')}")
        for resource in component.get("resources") or []:
            docs += load_yaml_docs(component_dir / resource)
        docs = apply_transformers(component_dir, component, docs)
    return apply_transformers(directory, data, docs)


def canonical(docs: list[dict]) -> list[str]:
    return sorted(json.dumps(d, sort_keys=True) for d in docs)


def render(directory: Path) -> list[dict] | None:
    try:
        fallback = render_fallback(directory)
    except (RenderError, OSError, yaml.YAMLError) as error:
        fail(rel(directory), f"cannot render: {error}")
        return None
    if shutil.which("kubectl"):
        result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True)
        if result.returncode != 0:
            fail(rel(directory), f"kubectl kustomize failed: {result.stderr.strip()}")
            return None
        rendered = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
        if canonical(rendered) != canonical(fallback):
            fail(rel(directory), "kubectl kustomize and the fallback renderer disagree; fix the renderer")
        else:
            ok(f"{rel(directory)}: kubectl kustomize and the fallback renderer agree ({len(rendered)} resources)")
        return rendered
    ok(f"{rel(directory)}: rendered by the fallback renderer (kubectl not installed), {len(fallback)} resources")
    return fallback


# ---------------------------------------------------------------------------------------------
# Kubernetes resources
# ---------------------------------------------------------------------------------------------

_schema_cache: dict[str, dict] = {}


def crd_schema(name: str) -> dict:
    if name not in _schema_cache:
        schema = json.loads((SCHEMAS / name).read_text())
        jsonschema.Draft7Validator.check_schema(schema)
        _schema_cache[name] = schema
    return _schema_cache[name]


def validate_resource(where: str, doc: dict) -> bool:
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CRD_SCHEMAS:
        errors = sorted(jsonschema.Draft7Validator(crd_schema(CRD_SCHEMAS[key])).iter_errors(doc),
                        key=lambda e: list(e.absolute_path))
        for error in errors:
            fail(where, f"{resource_id(doc)} at {error.json_path}: {error.message}")
        return not errors
    good = True
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            fail(where, f"{resource_id(doc)} (Kubernetes {version}) at "
                        f"{'.'.join(str(p) for p in error.path)}: {error.message}")
            good = False
        except kubernetes_validate.SchemaNotFoundError:
            fail(where, f"{resource_id(doc)}: no schema for {key[0]} {key[1]} in Kubernetes {version} "
                        "(and no local schema in deploy/schemas)")
            good = False
    return good


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_rendered(overlay: str, docs: list[dict]) -> None:
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployments = by_kind.get("Deployment", [])
    configmap = {}
    for cm in by_kind.get("ConfigMap", []):
        configmap.update(cm.get("data") or {})
        for name in cm.get("data") or {}:
            check_env_variable(f"{overlay} ConfigMap/{cm['metadata']['name']}", name)

    if by_kind.get("Secret"):
        fail(overlay, "renders a Secret: secret values never go into the repository")

    names = {d["metadata"]["name"] for d in deployments}
    for wanted in ("adsync-api", "adsync-scheduler", "adsync-worker"):
        if wanted not in names:
            fail(overlay, f"no Deployment {wanted}")
    if not any(j["metadata"]["name"] == "adsync-migrate" for j in by_kind.get("Job", [])):
        fail(overlay, "no migration Job adsync-migrate")

    for deployment in deployments:
        name = deployment["metadata"]["name"]
        where = f"{overlay} Deployment/{name}"
        pod_labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        if name == "adsync-scheduler" and deployment["spec"].get("replicas") != 2:
            fail(where, "the scheduler runs two replicas (one leads, one stands by)")
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            probes = {p: (container.get(p) or {}).get("httpGet", {}).get("path")
                      for p in ("livenessProbe", "readinessProbe")}
            if probes != {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
                fail(where, f"container {container['name']}: liveness must be /healthz and readiness /readyz, found {probes}")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                if set((resources.get(part) or {})) < {"cpu", "memory"}:
                    fail(where, f"container {container['name']}: resources.{part} needs cpu and memory")
            refs = [e.get("secretRef", {}).get("name") for e in container.get("envFrom", [])]
            if "adsync-secrets" not in refs:
                fail(where, f"container {container['name']}: secrets come from envFrom secretRef adsync-secrets")
            for env in container.get("env", []):
                check_env_variable(where, env["name"])
        if not any(matches(p["spec"]["selector"].get("matchLabels", {}), pod_labels)
                   for p in by_kind.get("PodDisruptionBudget", [])):
            fail(where, "no PodDisruptionBudget selects its pods")
        if not any(matches(s["spec"].get("selector", {}), pod_labels) for s in by_kind.get("Service", [])):
            fail(where, "no Service selects its pods (the ServiceMonitor scrapes through Services)")

    for job in by_kind.get("Job", []):
        for container in job["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                check_env_variable(f"{overlay} Job/{job['metadata']['name']}", env["name"])

    autoscalers = [f"HorizontalPodAutoscaler/{h['metadata']['name']}" for h in by_kind.get("HorizontalPodAutoscaler", [])
                   if h["spec"]["scaleTargetRef"]["name"] == "adsync-worker"]
    autoscalers += [f"ScaledObject/{s['metadata']['name']}" for s in by_kind.get("ScaledObject", [])
                    if s["spec"]["scaleTargetRef"]["name"] == "adsync-worker"]
    if len(autoscalers) != 1:
        fail(overlay, f"the worker Deployment needs exactly one autoscaler, found {autoscalers or 'none'}")

    prefix = configmap.get("ADSYNC__RABBITMQ__PREFIX", DEFAULTS["rabbitmq"]["prefix"])
    for scaled in by_kind.get("ScaledObject", []):
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] != "rabbitmq":
                continue
            pattern = trigger["metadata"]["queueName"]
            if trigger["metadata"].get("useRegex") != "true":
                fail(overlay, f"ScaledObject trigger {trigger.get('name')}: one queue ({pattern}) cannot cover every connector; use useRegex")
                continue
            queues = [f"{prefix}.jobs.{c}{suffix}" for c in CONNECTORS for suffix in ("", ".high")]
            missed = [q for q in queues if not re.fullmatch(pattern, q)]
            if missed:
                fail(overlay, f"KEDA queueName {pattern!r} misses {missed}")
            if re.fullmatch(pattern, f"{prefix}.dead"):
                fail(overlay, f"KEDA queueName {pattern!r} also counts the dead-letter queue {prefix}.dead")

    for monitor in by_kind.get("ServiceMonitor", []):
        selected = [s for s in by_kind.get("Service", []) if matches(monitor["spec"]["selector"].get("matchLabels", {}),
                                                                        s["metadata"].get("labels", {}))]
        ports = {p.get("name") for s in selected for p in s["spec"]["ports"]}
        for endpoint in monitor["spec"].get("endpoints", []):
            if endpoint.get("port") not in ports:
                fail(overlay, f"ServiceMonitor/{monitor['metadata']['name']}: no selected Service has port {endpoint.get('port')!r}")
        scraped = {s["metadata"]["name"] for s in selected}
        for wanted in ("adsync-api", "adsync-scheduler", "adsync-worker"):
            if wanted not in scraped:
                fail(overlay, f"ServiceMonitor/{monitor['metadata']['name']} does not select Service {wanted}")


def check_kubernetes() -> None:
    for path in sorted(list((K8S / "base").glob("*.yaml")) + list((K8S / "components").glob("*/*.yaml"))):
        if path.name == "kustomization.yaml":
            continue
        docs = load_yaml_docs(path)
        if all(validate_resource(rel(path), doc) for doc in docs):
            ok(f"{rel(path)}: {len(docs)} resources valid")
    overlays = sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())
    if not overlays:
        fail(rel(K8S / "overlays"), "no overlay to render")
    for overlay in overlays:
        docs = render(overlay)
        if docs is None:
            continue
        if all([validate_resource(rel(overlay), doc) for doc in docs]):
            ok(f"{rel(overlay)}: every rendered resource valid (Kubernetes {', '.join(K8S_VERSIONS)}; CRDs against deploy/schemas)")
        before = len(failures)
        check_rendered(rel(overlay), docs)
        if len(failures) == before:
            ok(f"{rel(overlay)}: probes, resources, PDBs, Services, one worker autoscaler, queue pattern, config keys")


# ---------------------------------------------------------------------------------------------
# Compose
# ---------------------------------------------------------------------------------------------


def check_compose() -> None:
    path = ROOT / "docker-compose.yml"
    where = rel(path)
    compose = yaml.safe_load(path.read_text())
    schema = json.loads((SCHEMAS / "compose-spec.subset.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(compose))
    for error in errors:
        fail(where, f"at {error.json_path}: {error.message}")
    if not errors:
        ok(f"{where}: valid against deploy/schemas/compose-spec.subset.schema.json")
    before = len(failures)
    services = compose.get("services", {})
    volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        here = f"{where} services.{name}"
        depends = service.get("depends_on") or {}
        for target, condition in (depends.items() if isinstance(depends, dict) else [(d, {}) for d in depends]):
            if target not in services:
                fail(here, f"depends on unknown service {target}")
            elif (condition or {}).get("condition") == "service_healthy" and "healthcheck" not in services[target]:
                fail(here, f"waits for {target} to be healthy, but {target} has no healthcheck")
            elif (condition or {}).get("condition") == "service_completed_successfully" and services[target].get("restart") != "no":
                fail(here, f"waits for {target} to complete, but {target} would be restarted")
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                if not (ROOT / source).exists():
                    fail(here, f"mounts {source}, which does not exist")
            elif source and source not in volumes:
                fail(here, f"uses volume {source}, not declared under volumes")
        environment = service.get("environment") or {}
        names = environment.keys() if isinstance(environment, dict) else [e.split("=", 1)[0] for e in environment]
        for variable in names:
            check_env_variable(here, variable)
    for process, port in (("api", 8080), ("scheduler", 9092), ("worker", 9091)):
        if "healthcheck" not in services.get(process, {}):
            fail(where, f"service {process} has no healthcheck")
    if services.get("scheduler", {}).get("deploy", {}).get("replicas") != 2:
        fail(where, "the scheduler runs two replicas")
    if services.get("worker", {}).get("deploy", {}).get("replicas") != 2:
        fail(where, "the worker runs two replicas")
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    scraped = {job["job_name"] for job in prometheus["scrape_configs"]}
    for job in ("adsync-api", "adsync-scheduler", "adsync-worker"):
        if job not in scraped:
            fail(rel(DEPLOY / "prometheus" / "prometheus.yml"), f"does not scrape {job}")
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        for variable in re.findall(r"\b(ADSYNC[A-Z0-9_]*)=", line):
            check_env_variable("Dockerfile", variable)
    if len(failures) == before:
        ok(f"{where}: dependencies, volumes, health checks, replicas, scrape jobs, config keys")


# ---------------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------------


def workspace_binaries() -> dict[str, Path]:
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    binaries = {}
    for member in members:
        manifest = tomllib.loads((ROOT / member / "Cargo.toml").read_text())
        name = manifest["package"]["name"]
        if (ROOT / member / "src" / "main.rs").is_file():
            binaries[name] = ROOT / member
        for bin_file in (ROOT / member / "src" / "bin").glob("*.rs"):
            binaries[bin_file.stem] = ROOT / member
        for bin_entry in manifest.get("bin", []):
            binaries[bin_entry["name"]] = ROOT / member
    return binaries


def check_dockerfile() -> None:
    path = ROOT / "Dockerfile"
    where = rel(path)
    text = re.sub(r"\\\n", " ", path.read_text())
    before = len(failures)
    stages, final_user, current = [], {}, None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            base = words[1]
            if base in stages:
                final_user[len(stages)] = final_user.get(stages.index(base))
            current = words[3] if len(words) > 3 and words[2].upper() == "AS" else f"stage{len(stages)}"
            stages.append(current)
        elif instruction == "USER":
            final_user[len(stages) - 1] = words[1]
        elif instruction == "COPY":
            for flag in words[1:]:
                if flag.startswith("--from=") and flag[7:] not in stages:
                    fail(where, f"COPY --from={flag[7:]}: no such stage before it")
    last = len(stages) - 1
    user = final_user.get(last)
    if user is None or user.split(":")[0] in {"0", "root"}:
        fail(where, f"the final stage {stages[last]} must run as a non-root user (found {user})")
    if stages[last] != "runtime":
        fail(where, f"the final (default) stage should be the runtime image, found {stages[last]}")
    known = workspace_binaries()
    built = re.findall(r"--bin\s+([a-z0-9_-]+)", text)
    for binary in built:
        if binary not in known:
            fail(where, f"cargo build --bin {binary}: no such binary in the workspace")
    for binary in ("api", "scheduler", "worker", "sandbox"):
        if binary not in built:
            fail(where, f"the image does not build {binary}")
        elif not re.search(rf"COPY --from=\S+ [^\n]*/out/{binary}\b", text):
            fail(where, f"{binary} is built but not copied into the image")
    if "--locked" not in text:
        fail(where, "cargo build must use --locked (the committed Cargo.lock)")
    ignore = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    for needed in members + ["Cargo.toml", "Cargo.lock", "config", "config/default.toml"]:
        if any(pattern.strip("/") == needed or pattern.strip("/") == needed.split("/")[0] for pattern in ignore):
            fail(".dockerignore", f"excludes {needed}, which the build needs")
    if len(failures) == before:
        ok(f"{where}: stages, binaries ({', '.join(built)}), non-root runtime; .dockerignore keeps the workspace")


# ---------------------------------------------------------------------------------------------
# Dashboard, alerts, metric names
# ---------------------------------------------------------------------------------------------


def dashboard_exprs(dashboard: dict) -> list[tuple[str, str]]:
    exprs = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            exprs.append((panel["title"], target["expr"]))
    return exprs


def check_dashboard() -> list[str]:
    path = DEPLOY / "grafana" / "adsync.json"
    where = rel(path)
    dashboard = json.loads(path.read_text())
    for field in ("uid", "title", "panels", "templating", "schemaVersion"):
        if field not in dashboard:
            fail(where, f"no {field}")
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        fail(where, "panel ids repeat")
    for panel in dashboard["panels"]:
        if panel["type"] != "row" and not panel.get("targets"):
            fail(where, f"panel {panel['title']!r} has no query")
    exprs = dashboard_exprs(dashboard)
    substitutions = {"$__rate_interval": "5m", "$connector": ".*", "$prefix": "adsync"}
    rules = []
    for index, (title, expr) in enumerate(exprs):
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        if "$" in expr:
            fail(where, f"panel {title!r}: unknown variable in {expr}")
        rules.append({"record": f"dashboard:panel_{index}", "expr": expr})
    with tempfile.TemporaryDirectory() as tmp:
        rule_file = Path(tmp) / "dashboard-rules.yml"
        rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
        result = subprocess.run(["promtool", "check", "rules", str(rule_file)], capture_output=True, text=True)
        if result.returncode != 0:
            fail(where, f"a query does not parse:\n{result.stdout}{result.stderr}")
        else:
            ok(f"{where}: {len(exprs)} queries parse (promtool)")
    return [expr for _, expr in exprs]


def check_metric_names(dashboard_queries: list[str]) -> None:
    declared: set[str] = set()
    for source in ROOT.glob("*/src/**/*.rs"):
        declared |= set(re.findall(r'"(adsync_[a-z0-9_]+)"', source.read_text()))
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    used = set()
    for text in dashboard_queries + [alerts]:
        for name in re.findall(r"\b(adsync_[a-z0-9_]+)", text):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name) if name.endswith(("_bucket", "_sum", "_count")) else name)
    convention = re.compile(r"^adsync_[a-z]+_[a-z0-9_]+$")
    for name in sorted(used):
        if not convention.match(name):
            fail("metrics", f"{name} does not follow adsync_<part>_<what>_<unit>")
    missing = sorted(used - declared)
    operations = OPERATIONS.read_text() if OPERATIONS.exists() else ""
    listed = set(re.findall(r"^- `(adsync_[a-z0-9_]+)", operations.split("<!-- metrics-to-add -->")[-1], re.M)) \
        if "<!-- metrics-to-add -->" in operations else set()
    for name in missing:
        if name not in listed:
            fail("metrics", f"{name} is used by the dashboard or alerts, declared nowhere in the code, "
                            "and not listed under README.md's operations section's metrics to add (a typo?)")
    ok(f"metrics: {len(used)} names used, {len(used) - len(missing)} declared in the code; "
       f"not yet emitted: {', '.join(missing) or 'none'}")


def check_operations() -> None:
    where = rel(OPERATIONS)
    if not OPERATIONS.exists():
        fail(where, "missing")
        return
    text = OPERATIONS.read_text()
    rows = {}
    for match in re.finditer(r"^\| `([a-z0-9_.<>]+)` \| (.*?) \| `([A-Z0-9_<>]+)` \|", text, re.M):
        rows[match.group(1)] = (match.group(2), match.group(3))
    before = len(failures)
    for key, default in CONFIG_KEYS.items():
        documented_key = "crypto.keys.<id>" if key == "crypto.keys" else key
        if documented_key not in rows:
            fail(where, f"the configuration reference does not list {documented_key}")
            continue
        text_default, variable = rows[documented_key]
        expected_variable = "ADSYNC__CRYPTO__KEYS__<ID>" if key == "crypto.keys" else env_name(key)
        if variable != expected_variable:
            fail(where, f"{documented_key}: variable {variable}, expected {expected_variable}")
        if isinstance(default, (str, int, float)) and not isinstance(default, bool) and default != "":
            if f"`{default}`" not in text_default:
                fail(where, f"{documented_key}: default should read `{default}`")
    for key in PLATFORM_KEYS:
        platform, name = key.split(".")[1:]
        generic = f"connectors.<platform>.{name}"
        documented_key = key if key in rows else generic
        if documented_key not in rows:
            fail(where, f"the configuration reference lists neither {key} nor {generic} "
                        f"(connectors/src/{platform}/config.toml)")
            continue
        expected_variable = env_name(key) if documented_key == key else f"ADSYNC__CONNECTORS__<PLATFORM>__{name.upper()}"
        if rows[documented_key][1] != expected_variable:
            fail(where, f"{documented_key}: variable {rows[documented_key][1]}, expected {expected_variable}")
    if len(failures) == before:
        ok(f"{where}: all {len(CONFIG_KEYS)} keys of config/default.toml and {len(PLATFORM_KEYS)} of the "
           f"platforms' config.toml documented with default and variable")


def main() -> int:
    check_kubernetes()
    check_dockerfile()
    check_compose()
    queries = check_dashboard()
    check_metric_names(queries)
    check_operations()
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
