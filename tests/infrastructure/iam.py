"""Offline views of template.yaml for the infrastructure tests: the SAM template as data, its
CloudFormation translation, and the IAM permissions each function's role ends up with.

Importable on its own (no pytest, no AWS credentials). The SAM -> CloudFormation translation uses
``samtranslator`` (a dev dependency) in-process.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentcron_local.resources import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
REGION = "us-east-1"

# X-Ray's write actions have no resource-level permissions: "*" is the only valid Resource.
RESOURCELESS_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


# --------------------------------------------------------------------------- the SAM template


def load_sam_template(path: Path | str = TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain data, short tags in long form (the local stack's own loader)."""
    return copy.deepcopy(load_template(path))


def parameter_default(template: dict[str, Any], name: str) -> Any:
    return template["Parameters"][name]["Default"]


# ------------------------------------------------------------------ SAM -> CloudFormation


def find_sam_cli() -> Path | None:
    """The `sam` executable: $SAM_CLI, then the repo's .tools/sam, then PATH."""
    candidates = [
        os.environ.get("SAM_CLI"),
        str(REPO_ROOT / ".tools" / "sam" / "bin" / "sam"),
        shutil.which("sam"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def _offline_ready(template: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri/ContentUri -> s3:// URIs (the translator only accepts S3 locations)."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = f"s3://agentcron-test-artifacts/{logical_id}.zip"
        if kind == "AWS::Serverless::LayerVersion" and isinstance(properties.get("ContentUri"), str):
            properties["ContentUri"] = f"s3://agentcron-test-artifacts/{logical_id}.zip"
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = "s3://agentcron-test-artifacts/globals.zip"
    return template


def _translate_here(template_text: str, parameter_values: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class EmptyManagedPolicyLoader:
        """Only consulted for AWS managed policy *names* in Policies: none are expected."""

        def load(self) -> dict[str, str]:
            return {}

    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    ArnGenerator.BOTO_SESSION_REGION_NAME = REGION
    try:
        template = _offline_ready(yaml_parse(template_text))
        return transform(template, dict(parameter_values), EmptyManagedPolicyLoader())  # type: ignore[no-any-return]
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


@functools.lru_cache(maxsize=8)
def _translate_cached(path: str, mtime_ns: int, parameters_json: str) -> str:
    del mtime_ns  # part of the cache key only
    text = Path(path).read_text(encoding="utf-8")
    return json.dumps(_translate_here(text, json.loads(parameters_json)))


def translate(path: Path | str = TEMPLATE, parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """template.yaml translated to plain CloudFormation, offline (a fresh copy on every call)."""
    resolved = Path(path).resolve()
    key = json.dumps(parameter_values or {}, sort_keys=True)
    result: dict[str, Any] = json.loads(_translate_cached(str(resolved), resolved.stat().st_mtime_ns, key))
    return result


# ------------------------------------------------------------------------- references


def references(node: Any) -> set[str]:
    """Logical ids (resources or parameters) a value refers to via Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
            return
        if not isinstance(value, dict):
            return
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                if isinstance(arg, str):
                    found.add(arg.split(".", 1)[0])
                elif isinstance(arg, list) and arg and isinstance(arg[0], str):
                    found.add(arg[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                local = set(variables) if isinstance(variables, dict) else set()
                for expr in _SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                    name = expr.split(".", 1)[0]
                    if name not in local and not name.startswith("AWS::"):
                        found.add(name)
                walk(variables)
            else:
                walk(arg)

    walk(node)
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------ IAM


def function_role_id(cfn: dict[str, Any], function_logical_id: str) -> str:
    """Logical id of the AWS::IAM::Role a (translated) function runs with."""
    resources = cfn["Resources"]
    function = resources.get(function_logical_id)
    if function is None or function.get("Type") != "AWS::Lambda::Function":
        raise KeyError(f"{function_logical_id} is not an AWS::Lambda::Function of the translated template")
    role_ids = [ref for ref in references(function["Properties"].get("Role")) if ref in resources]
    if len(role_ids) != 1 or resources[role_ids[0]]["Type"] != "AWS::IAM::Role":
        role = function["Properties"].get("Role")
        raise ValueError(f"{function_logical_id}: its Role is not a role of this template: {role}")
    return role_ids[0]


def _documents(value: Any) -> Iterator[dict[str, Any]]:
    """Policy documents, looking through Fn::If (both branches: what the role may get)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        yield from _documents(when_true)
        yield from _documents(when_false)
    elif isinstance(value, dict) and "Statement" in value:
        yield value


def _statements_of(document: Any) -> Iterator[dict[str, Any]]:
    for doc in _documents(document):
        for statement in _as_list(doc.get("Statement")):
            if isinstance(statement, dict) and set(statement) == {"Fn::If"}:
                yield from _statements_of({"Statement": statement["Fn::If"][1:]})
            elif isinstance(statement, dict):
                yield statement


def role_statements(cfn: dict[str, Any], function_logical_id: str) -> list[dict[str, Any]]:
    """Every statement granted to the function's role: its inline policies (including those SAM
    generates), AWS::IAM::Policy / RolePolicy / ManagedPolicy resources of the template attached to
    it. AWS managed policies are opaque here: see managed_policy_arns()."""
    resources = cfn["Resources"]
    role_id = function_role_id(cfn, function_logical_id)
    role = resources[role_id]["Properties"]
    statements: list[dict[str, Any]] = []
    for policy in _as_list(role.get("Policies")):
        if isinstance(policy, dict) and set(policy) == {"Fn::If"}:
            branches = [b for b in policy["Fn::If"][1:] if isinstance(b, dict) and "PolicyDocument" in b]
            for branch in branches:
                statements.extend(_statements_of(branch["PolicyDocument"]))
        elif isinstance(policy, dict):
            statements.extend(_statements_of(policy.get("PolicyDocument")))
    attached = set()
    for arn in _as_list(role.get("ManagedPolicyArns")):
        attached |= {ref for ref in references(arn) if ref in resources}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if kind in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            if role_id in references(properties.get("Roles")) or logical_id in attached:
                statements.extend(_statements_of(properties.get("PolicyDocument")))
        elif kind == "AWS::IAM::RolePolicy" and role_id in references(properties.get("RoleName")):
            statements.extend(_statements_of(properties.get("PolicyDocument")))
    return statements


def managed_policy_arns(cfn: dict[str, Any], function_logical_id: str) -> list[Any]:
    """Managed policies attached to the function's role that are not defined in the template
    (AWS managed policies: their statements are not visible offline)."""
    resources = cfn["Resources"]
    role = resources[function_role_id(cfn, function_logical_id)]["Properties"]
    return [arn for arn in _as_list(role.get("ManagedPolicyArns")) if not (references(arn) & set(resources))]


def function_permissions(cfn: dict[str, Any], function_logical_id: str) -> list[tuple[str, Any]]:
    """(action, resource) for every Allow of the function's role, one pair per action x resource.

    Resources are returned as written (a string such as "*", or an intrinsic such as
    {"Fn::GetAtt": ["Table", "Arn"]}); match them with references().
    """
    pairs: list[tuple[str, Any]] = []
    for statement in role_statements(cfn, function_logical_id):
        if statement.get("Effect") != "Allow":
            continue
        for action in _as_list(statement.get("Action")):
            for resource in _as_list(statement.get("Resource")):
                pairs.append((action, resource))
    return pairs


def _action_matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def role_allows(cfn: dict[str, Any], function_id: str, action: str, resource_logical_id: str) -> bool:
    """True if an Allow statement of the function's role grants ``action`` (wildcards in the
    statement honoured) on a Resource that references ``resource_logical_id`` (Ref, Fn::GetAtt or
    Fn::Sub, also inside Fn::If / Fn::Join). A bare "*" resource does not count."""
    for statement in role_statements(cfn, function_id):
        if statement.get("Effect") != "Allow":
            continue
        if not any(_action_matches(pattern, action) for pattern in _as_list(statement.get("Action"))):
            continue
        if any(resource_logical_id in references(resource) for resource in _as_list(statement.get("Resource"))):
            return True
    return False


def lambda_functions(cfn: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in cfn["Resources"].items() if v.get("Type") == "AWS::Lambda::Function")
