"""Names in an exported PyTorch file: what torch registers a submodule under, and Python's.

Takes the spec's names; gives names torch accepts for `add_module` (`torch_names`, against
`TORCH_TAKEN`), the expression that reaches a submodule (`self.x` or `self._modules['…']`),
what no class or variable of the file may be called (`RESERVED_NAMES`), a class name from a label
(`class_name`) and text safe in the file's docstring (`docstring_text`).
"""

from __future__ import annotations

import builtins
import keyword
import re

from convcalc.bridges.export_classes import HELPERS

# --- levels: one submodule each ---------------------------------------------------------------

_TORCH_ATTRIBUTES = """
    __add__ __annotations__ __call__ __class__ __delattr__ __delitem__ __dict__ __dir__
    __doc__ __eq__ __format__ __ge__ __getattr__ __getattribute__ __getitem__ __getstate__
    __gt__ __hash__ __iadd__ __imul__ __init__ __init_subclass__ __iter__ __le__ __len__
    __lt__ __module__ __mul__ __ne__ __new__ __reduce__ __reduce_ex__ __repr__ __rmul__
    __setattr__ __setitem__ __setstate__ __sizeof__ __str__ __subclasshook__ __weakref__
    T_destination _apply _backward_hooks _backward_pre_hooks _buffers _call_impl
    _compiled_call_impl _forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs
    _forward_pre_hooks _forward_pre_hooks_with_kwargs _get_abs_string_index _get_backward_hooks
    _get_backward_pre_hooks _get_item_by_idx _get_name _is_full_backward_hook
    _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks
    _maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set
    _parameters _register_load_state_dict_pre_hook _register_state_dict_hook
    _replicate_for_data_parallel _save_to_state_dict _slow_forward _state_dict_hooks
    _state_dict_pre_hooks _version _wrapped_call_impl add_module append apply bfloat16 buffers
    call_super_init children compile cpu cuda double dump_patches eval extend extra_repr float
    forward get_buffer get_extra_state get_parameter get_submodule half insert ipu
    load_state_dict modules mtia named_buffers named_children named_modules named_parameters
    parameters pop register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu
    zero_grad
"""
TORCH_TAKEN = frozenset(_TORCH_ATTRIBUTES.split())
"""The attributes of an nn.Module, nn.Sequential or nn.ModuleList (torch 2.13, a test keeps the
list in step): `add_module` refuses a submodule of one of these names (KeyError), as it refuses
a name with a dot or an empty one."""


def torch_names(names: list[str]) -> list[str]:
    """The names a level's submodules are registered under in torch: the spec's own, except one
    torch refuses (empty, with a `.`, an nn.Module attribute such as `half`, `forward` or
    `training`), which becomes the name with each `.` as `_` and a `_`
    added until it is free in its level (`half` → `half_`, `a.b` → `a_b_`)."""

    def refused(name: str) -> bool:
        return not name or "." in name or name in TORCH_TAKEN

    taken = {n for n in names if not refused(n)}
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        candidate = name
        if refused(name) or name in seen:
            candidate = name.replace(".", "_") + "_"
            while refused(candidate) or candidate in taken or candidate in seen:
                candidate += "_"
        seen.add(candidate)
        out.append(candidate)
    return out


def module_ref(name: str) -> str:
    # only plain ASCII words become attributes: Python folds other identifiers (NFKC: x² is x2)
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name):
        return f"self.{name}"
    return f"self._modules[{name!r}]"


_FILE_NAMES = frozenset({"OrderedDict", "torch", "nn", "INPUT", "build", "Level", *HELPERS})
"""Module-level names of the written file."""
RESERVED_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | \
    frozenset(keyword.softkwlist) | _FILE_NAMES
"""What a class or a variable of build() must never be called: a keyword, a builtin, or a name
the file defines or imports."""


def class_name(label: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", label) or ["Block"]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name if name[0].isalpha() else f"Block{name}"


def docstring_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring, on one line: backslashes, line breaks and
    every other character that is not printable written as escapes, quotes escaped (`\\"`:
    no closing quotes, and the docstring reads back as the name)."""
    text = "".join(ch if ch.isprintable() and ch != "\\" else
                   ch.encode("unicode_escape").decode("ascii") for ch in str(text))
    return text.replace('"', '\\"')
