"""A plug-in's node kind or action type raising something other than a product error: a bilingual
message naming the node or action and the workflow (or rule), never a 500. The core's own kinds and
types are not wrapped (a bug there stays a bug with its traceback)."""
from __future__ import annotations

from typing import Any, Callable

from mom.platform.errors import MomError


class PluginStepFailed(MomError):
    """A plug-in's node kind or action type failed (422 ``invalid_input`` if it reaches the API, as a
    plug-in's field type does); ``detail`` names the plug-in class and where."""

    code = "invalid_input"


def is_core(obj: Any) -> bool:
    """Whether ``obj`` (a node handler or an action type) is one of the core's."""
    return type(obj).__module__.startswith("mom.")


def failed(obj: Any, where_zh: str, where_en: str, exc: BaseException) -> PluginStepFailed:
    """The error of ``obj`` (a plug-in's handler) raising ``exc`` at ``where`` (e.g. "流程 x 的节点 y")."""
    why = f"{type(exc).__name__}: {exc}"[:300]
    cls = f"{type(obj).__module__}.{type(obj).__qualname__}"
    return PluginStepFailed(f"{where_zh}（插件 {cls} 提供）出错：{why}；请联系插件作者",
                            f"{where_en} (from plug-in {cls}) failed: {why}; tell the plug-in's author",
                            detail={"plugin_class": cls})


def call(obj: Any, where: Callable[[], tuple[str, str]], fn: Callable[..., Any], *args: Any,
         on_fail: Callable[[PluginStepFailed], Any] | None = None) -> Any:
    """``fn(*args)`` (a step of ``obj``: a node handler's enter, an action's run, a check). A product
    error passes; anything else from the core's ``obj`` stays a bug; from a plug-in's it is
    :func:`failed` at ``where()`` (``(zh, en)``, only built then), raised ``from`` it, or, given
    ``on_fail``, handed to it and its result returned."""
    try:
        return fn(*args)
    except MomError:
        raise
    except Exception as exc:  # noqa: BLE001 - foreign code
        if is_core(obj):
            raise
        err = failed(obj, *where(), exc)
        if on_fail is not None:
            return on_fail(err)
        raise err from exc
