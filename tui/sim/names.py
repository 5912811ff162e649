"""Service Fabric Names and properties: the naming store and its gateway routes.

The store keeps what the real Naming Service keeps per property (kind, value, custom type id,
SequenceNumber, LastModifiedUtcTimestamp) and applies a property batch atomically: every
operation or none. Wire shapes follow NamesHandler.cpp and azure-servicefabric 8.2's models.
Name ids in paths use the `~` form (`sfpatch~contoso` for `fabric:/sfpatch/contoso`).
"""

from __future__ import annotations

import copy
import itertools
import json
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aiohttp import web

from tui.sim import fabric_api
from tui.sim.state import SimCluster, SimError

SCHEME = "fabric:/"
VALUE_KINDS = ("Binary", "Int64", "Double", "String", "Guid")
BATCH_KINDS = ("CheckExists", "CheckSequence", "CheckValue", "Put", "Get", "Delete")


@dataclass(frozen=True)
class Property:
    """One stored property: its typed value and the metadata the service keeps."""

    kind: str
    data: Any
    custom_type_id: str
    sequence_number: int
    modified: datetime

    def size_in_bytes(self) -> int:
        # The store keeps strings as null-terminated UTF-16, as Windows does.
        if self.kind == "String":
            return (len(str(self.data).encode("utf-16-le")) // 2 + 1) * 2
        if self.kind == "Binary":
            return len(self.data)
        return 16 if self.kind == "Guid" else 8


@dataclass
class NameEntry:
    properties: dict[str, Property] = field(default_factory=dict)


class BatchFailed(Exception):
    """A batch operation failed: nothing was applied."""

    def __init__(self, index: int, code: str) -> None:
        super().__init__(code)
        self.index = index
        self.code = code


class NameStore:
    """Names and their properties for one simulated cluster; callers hold the cluster lock."""

    def __init__(self, cluster: SimCluster) -> None:
        self._clock = cluster.clock
        self.names: dict[str, NameEntry] = {}
        # One sequence for the whole store, like the Naming Service's LSNs: a property deleted
        # and put again never gets back an old number, so CheckSequence cannot be fooled.
        self._sequence = itertools.count(1)

    def create(self, name: str) -> None:
        if name in self.names:
            raise SimError("FABRIC_E_NAME_ALREADY_EXISTS", "Name already exists.")
        self.names[name] = NameEntry()

    def exists(self, name: str) -> bool:
        return name in self.names

    def delete(self, name: str) -> None:
        entry = self.entry(name)
        if entry.properties:
            raise SimError("FABRIC_E_NAME_NOT_EMPTY", "Name has properties; delete them first.")
        del self.names[name]

    def sub_names(self, name: str, recursive: bool) -> list[str]:
        self.entry(name)
        prefix = name.rstrip("/") + "/"
        found = [n for n in self.names if n.startswith(prefix)]
        if not recursive:
            found = [n for n in found if "/" not in n[len(prefix) :]]
        return sorted(found)

    def entry(self, name: str) -> NameEntry:
        entry = self.names.get(name)
        if entry is None:
            raise SimError("FABRIC_E_NAME_DOES_NOT_EXIST", "Name does not exist.")
        return entry

    def get(self, name: str, prop: str) -> Property:
        found = self.entry(name).properties.get(prop)
        if found is None:
            raise SimError("FABRIC_E_PROPERTY_DOES_NOT_EXIST", "Property does not exist.")
        return found

    def put(self, name: str, prop: str, kind: str, data: Any, custom_type_id: str = "") -> None:
        self.entry(name).properties[prop] = self._new(kind, data, custom_type_id)

    def remove(self, name: str, prop: str) -> None:
        self.get(name, prop)
        del self.entry(name).properties[prop]

    def submit_batch(self, name: str, operations: list[dict[str, Any]]) -> dict[str, Property]:
        """Apply every operation in order on a copy; commit only if all succeed.

        Returns the Get results keyed by operation index; raises BatchFailed otherwise.
        """
        live = self.entry(name)
        props = copy.copy(live.properties)
        results: dict[str, Property] = {}
        for index, op in enumerate(operations):
            self._apply(props, index, op, results)
        live.properties = props
        return results

    def _apply(
        self, props: dict[str, Property], index: int, op: dict[str, Any], results: dict
    ) -> None:
        kind, prop = op["Kind"], op["PropertyName"]
        current = props.get(prop)
        if kind == "CheckExists":
            if (current is not None) != op["Exists"]:
                raise BatchFailed(index, "FABRIC_E_PROPERTY_CHECK_FAILED")
        elif kind == "CheckSequence":
            if current is None or str(current.sequence_number) != str(op["SequenceNumber"]):
                raise BatchFailed(index, "FABRIC_E_PROPERTY_CHECK_FAILED")
        elif kind == "CheckValue":
            value = op["Value"]
            if current is None or (current.kind, current.data) != (value["Kind"], value["Data"]):
                raise BatchFailed(index, "FABRIC_E_PROPERTY_CHECK_FAILED")
        elif kind == "Put":
            value = op["Value"]
            props[prop] = self._new(value["Kind"], value["Data"], op.get("CustomTypeId") or "")
        elif kind == "Get":
            if current is None:
                raise BatchFailed(index, "FABRIC_E_PROPERTY_DOES_NOT_EXIST")
            include = op.get("IncludeValue", False)
            results[str(index)] = current if include is True else replace(current, data=None)
        elif kind == "Delete":
            if current is None:
                raise BatchFailed(index, "FABRIC_E_PROPERTY_DOES_NOT_EXIST")
            del props[prop]

    def _new(self, kind: str, data: Any, custom_type_id: str) -> Property:
        return Property(kind, data, custom_type_id, next(self._sequence), self._clock.now())


_STORES: weakref.WeakKeyDictionary[SimCluster, NameStore] = weakref.WeakKeyDictionary()


def names_of(cluster: SimCluster) -> NameStore:
    """The naming store of a simulated cluster (created on first use)."""
    with cluster.lock:
        store = _STORES.get(cluster)
        if store is None:
            store = _STORES[cluster] = NameStore(cluster)
        return store


# ------------------------------------------------------------------ wire


def name_from_id(name_id: str) -> str:
    """`sfpatch~contoso` (or an escaped `fabric:/sfpatch/contoso`) -> `fabric:/sfpatch/contoso`."""
    text = name_id if name_id.startswith(SCHEME) else SCHEME + name_id.replace("~", "/")
    path = text[len(SCHEME) :]
    if not path or any(not part for part in path.split("/")):
        raise SimError("FABRIC_E_INVALID_NAME_URI", f"Invalid name {text!r}.")
    return text


def check_value(value: Any, where: str) -> dict[str, Any]:
    """Validate a PropertyValue body ({"Kind", "Data"}); E_INVALIDARG otherwise."""
    if not isinstance(value, dict) or value.get("Kind") not in VALUE_KINDS or "Data" not in value:
        raise SimError(
            "E_INVALIDARG", f"{where}: Value needs Kind (one of {', '.join(VALUE_KINDS)}) and Data."
        )
    data = value["Data"]
    ok = {
        "String": isinstance(data, str),
        "Guid": isinstance(data, str),
        "Int64": isinstance(data, str | int) and str(data).lstrip("-").isdigit(),
        "Double": isinstance(data, int | float) and not isinstance(data, bool),
        "Binary": isinstance(data, list) and all(isinstance(b, int) and 0 <= b < 256 for b in data),
    }[value["Kind"]]
    if not ok:
        raise SimError("E_INVALIDARG", f"{where}: Data does not fit Kind {value['Kind']}.")
    if value["Kind"] == "Int64":
        return {"Kind": "Int64", "Data": str(int(data))}
    return {"Kind": value["Kind"], "Data": data}


def property_info(name: str, prop: str, stored: Property, include_value: bool) -> dict:
    info: dict[str, Any] = {
        "Name": prop,
        "Metadata": {
            "TypeId": stored.kind,
            "CustomTypeId": stored.custom_type_id,
            "Parent": name,
            "SizeInBytes": stored.size_in_bytes(),
            "LastModifiedUtcTimestamp": fabric_api.iso(stored.modified),
            "SequenceNumber": str(stored.sequence_number),
        },
    }
    if include_value and stored.data is not None:
        info["Value"] = {"Kind": stored.kind, "Data": stored.data}
    return info


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "null")
    except json.JSONDecodeError:
        raise SimError("E_INVALIDARG", "The request body could not be parsed.") from None


def _property_name(request: web.Request) -> str:
    prop = request.query.get("PropertyName", "")
    if not prop:
        raise SimError("E_INVALIDARG", "PropertyName is required.")
    return prop


async def create_name(request: web.Request, cluster: SimCluster, args: list[str]):
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("Name"), str):
        raise SimError("E_INVALIDARG", "Name is required.")
    if not body["Name"].startswith(SCHEME):
        raise SimError("FABRIC_E_INVALID_NAME_URI", f"Invalid name {body['Name']!r}.")
    names_of(cluster).create(name_from_id(body["Name"]))
    return web.Response(status=201)


async def name_exists(request: web.Request, cluster: SimCluster, args: list[str]):
    if not names_of(cluster).exists(name_from_id(args[0])):
        raise SimError("FABRIC_E_NAME_DOES_NOT_EXIST", "Name does not exist.")
    return web.Response(status=200)


async def delete_name(request: web.Request, cluster: SimCluster, args: list[str]):
    names_of(cluster).delete(name_from_id(args[0]))
    return web.Response(status=200)


async def sub_names(request: web.Request, cluster: SimCluster, args: list[str]):
    recursive = request.query.get("Recursive", "false").lower() == "true"
    found = names_of(cluster).sub_names(name_from_id(args[0]), recursive)
    return web.json_response({"ContinuationToken": "", "IsConsistent": True, "SubNames": found})


async def put_property(request: web.Request, cluster: SimCluster, args: list[str]):
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("PropertyName"), str):
        raise SimError("E_INVALIDARG", "PropertyName is required.")
    value = check_value(body.get("Value"), "PropertyDescription")
    custom = body.get("CustomTypeId") or ""
    names_of(cluster).put(
        name_from_id(args[0]), body["PropertyName"], value["Kind"], value["Data"], custom
    )
    return web.Response(status=200)


async def get_property(request: web.Request, cluster: SimCluster, args: list[str]):
    name, prop = name_from_id(args[0]), _property_name(request)
    return web.json_response(property_info(name, prop, names_of(cluster).get(name, prop), True))


async def delete_property(request: web.Request, cluster: SimCluster, args: list[str]):
    names_of(cluster).remove(name_from_id(args[0]), _property_name(request))
    return web.Response(status=200)


async def list_properties(request: web.Request, cluster: SimCluster, args: list[str]):
    name = name_from_id(args[0])
    include = request.query.get("IncludeValues", "false").lower() == "true"
    props = names_of(cluster).entry(name).properties
    return web.json_response(
        {
            "ContinuationToken": "",
            "IsConsistent": True,
            "Properties": [
                property_info(name, prop, props[prop], include) for prop in sorted(props)
            ],
        }
    )


def check_operations(body: Any) -> list[dict[str, Any]]:
    """Validate a PropertyBatchDescriptionList body; E_INVALIDARG on anything malformed."""
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list) or not operations:
        raise SimError("E_INVALIDARG", "Operations must be a non-empty list.")
    checked = []
    for index, op in enumerate(operations):
        where = f"Operations[{index}]"
        if not isinstance(op, dict) or op.get("Kind") not in BATCH_KINDS:
            raise SimError(
                "E_INVALIDARG", f"{where}: Kind must be one of {', '.join(BATCH_KINDS)}."
            )
        if not isinstance(op.get("PropertyName"), str) or not op["PropertyName"]:
            raise SimError("E_INVALIDARG", f"{where}: PropertyName is required.")
        op = dict(op)
        if op["Kind"] == "CheckExists" and not isinstance(op.get("Exists"), bool):
            raise SimError("E_INVALIDARG", f"{where}: Exists must be true or false.")
        if op["Kind"] == "CheckSequence" and not str(op.get("SequenceNumber", "")).isdigit():
            raise SimError("E_INVALIDARG", f"{where}: SequenceNumber is required.")
        if op["Kind"] in ("CheckValue", "Put"):
            op["Value"] = check_value(op.get("Value"), where)
        checked.append(op)
    return checked


async def submit_batch(request: web.Request, cluster: SimCluster, args: list[str]):
    name = name_from_id(args[0])
    operations = check_operations(await _json_body(request))
    try:
        results = names_of(cluster).submit_batch(name, operations)
    except BatchFailed as failed:
        return web.json_response(
            {"Kind": "Failed", "ErrorMessage": failed.code, "OperationIndex": failed.index},
            status=409,
        )
    return web.json_response(
        {
            "Kind": "Successful",
            "Properties": {
                index: property_info(name, stored_name(operations, index), stored, True)
                for index, stored in results.items()
            },
        }
    )


def stored_name(operations: list[dict[str, Any]], index: str) -> str:
    return operations[int(index)]["PropertyName"]


# Naming errors fabric_api's table lacks (HttpUtil.cpp ErrorCodeToHttpStatus: 409 Conflict).
fabric_api.STATUS_FOR_CODE.setdefault("FABRIC_E_NAME_NOT_EMPTY", 409)

ROUTES = [
    ("POST", ("names", "$", "create"), 6.0, create_name),
    ("GET", ("names", "*"), 6.0, name_exists),
    ("DELETE", ("names", "*"), 6.0, delete_name),
    ("GET", ("names", "*", "$", "getsubnames"), 6.0, sub_names),
    ("PUT", ("names", "*", "$", "getproperty"), 6.0, put_property),
    ("GET", ("names", "*", "$", "getproperty"), 6.0, get_property),
    ("DELETE", ("names", "*", "$", "getproperty"), 6.0, delete_property),
    ("GET", ("names", "*", "$", "getproperties"), 6.0, list_properties),
    ("POST", ("names", "*", "$", "getproperties", "$", "submitbatch"), 6.0, submit_batch),
]
for _route in ROUTES:
    if _route not in fabric_api.EXTRA_ROUTES:
        fabric_api.EXTRA_ROUTES.append(_route)  # type: ignore[arg-type]


async def serve(ctx: Any) -> dict[str, Any]:
    """Names live on the gateway's listener: importing this module added their routes."""
    return {}
