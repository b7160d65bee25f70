"""The function loader: ``functions/<name>/app.py`` imported as Lambda would,
and the ``context`` object Lambda passes its handler."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from agentcron_local.resources import (
    DEFAULT_REGION,
    DEFAULT_TEMPLATE,
    LOCAL_ACCOUNT_ID,
    REPO_ROOT,
    TemplateError,
    load_template,
)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Powertools and handlers read)."""

    function_name: str = "agentcron-local-ApiFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 29.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = DEFAULT_REGION
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(name: str = "api", *, template_path: Path | str = DEFAULT_TEMPLATE) -> LambdaContext:
    """A context for ``functions/<name>``, with MemorySize and Timeout from the template.

    ``api`` -> ApiFunction, ``dispatcher`` -> DispatcherFunction, ``runner`` -> RunnerFunction.
    """
    logical_id = f"{name.capitalize()}Function"
    try:
        memory, timeout = function_settings(template_path, logical_id)
    except TemplateError:
        memory, timeout = 128, 30.0
    return LambdaContext(
        function_name=f"agentcron-local-{logical_id}", memory_limit_in_mb=memory, timeout_seconds=timeout
    )


def function_settings(
    template_path: Path | str = DEFAULT_TEMPLATE, function_logical_id: str = "ApiFunction"
) -> tuple[int, float]:
    """(MemorySize, Timeout) of the function in the template, for the context object.

    SAM's defaults (128 MB, 3 s) when unset; a ``!Ref`` to a parameter gives
    its default (the runner's Timeout is one).
    """
    template = load_template(template_path)
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    props = ((template["Resources"].get(function_logical_id) or {}).get("Properties")) or {}
    parameters = template.get("Parameters") or {}

    def number(key: str, default: float) -> float:
        value = props.get(key, globals_fn.get(key, default))
        if isinstance(value, dict) and isinstance(value.get("Ref"), str):
            value = (parameters.get(value["Ref"]) or {}).get("Default", default)
        try:
            return float(value)
        except (TypeError, ValueError):
            return default

    return int(number("MemorySize", 128)), number("Timeout", 3)


def load_function_handler(name: str, *, attribute: str = "lambda_handler", fresh: bool = False) -> Handler:
    """``functions/<name>/app.py:lambda_handler``, imported like Lambda would (see load_function_module)."""
    module = load_function_module(name, fresh=fresh)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"functions/{name}/app.py has no callable {attribute}")
    return handler  # type: ignore[no-any-return]


def load_function_module(name: str, *, fresh: bool = False) -> ModuleType:
    """The module ``functions/<name>/app.py``, imported once per process.

    It gets a unique name (``agentcron_fn_<name>``: three functions each have
    an ``app.py``), and its folder goes on sys.path as /var/task would.
    ``fresh=True`` re-imports it (a new "cold start"). Use the module, not
    ``handler.__globals__``, to reach its globals: a decorated handler's
    globals are the decorator's module.
    """
    module_name = f"agentcron_fn_{name}"
    # One import at a time: the module is in sys.modules before it has finished executing,
    # and a second thread (the poller's other worker) must not take the half-made module.
    with _IMPORT_LOCK:
        return _load_function_module(name, module_name, fresh=fresh)


_IMPORT_LOCK = threading.RLock()


def _load_function_module(name: str, module_name: str, *, fresh: bool) -> ModuleType:
    module: ModuleType | None = None if fresh else sys.modules.get(module_name)
    if module is None:
        path = REPO_ROOT / "functions" / name / "app.py"
        if not path.is_file():
            raise FileNotFoundError(f"no function code at {path}")
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        function_dir = str(path.parent)
        if function_dir not in sys.path:
            sys.path.insert(0, function_dir)
        module = importlib.util.module_from_spec(spec)
        # Registered before exec: dataclasses and pydantic look the module up by name.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    return module
