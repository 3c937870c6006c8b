"""A plug-in's node kind or action type raising something other than a product error: a bilingual
message naming the node or action and the workflow (or rule), never a 500. The core's own kinds and
types are not wrapped (a bug there stays a bug with its traceback)."""
from __future__ import annotations

from typing import Any

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
