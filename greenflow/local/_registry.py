"""Domains, workflow and activity types, and resource tags of the local SWF service.

The registry owns 20 operations (5 domain, 12 type, 3 tag operations) and answers the
engine's lookups (:meth:`Registry.domain`, :meth:`Registry.workflow_type`, ...).

Domains and types are few and read on every engine request, so the registry keeps all of
them in memory: loaded from SQLite when it is built, and updated only *after* the
transaction that changed them committed, so a failed request never leaves the cache
ahead of the database. Lookups are plain dict reads.

Requests reach the registry already validated (:mod:`.wire._validation` applies the model and
SWF's value rules of :mod:`.wire._rules`: names, retention, durations, priorities, enums), so it
checks only what depends on state. Direct callers validate first.

Semantics follow SWF (reference: swf-api.md §2, §7.11):

* a domain name is unique; registering it again is ``DomainAlreadyExistsFault``;
  deprecating a deprecated one is ``DomainDeprecatedFault``; undeprecating a registered
  one is ``DomainAlreadyExistsFault``; deprecating a domain also deprecates its types;
* a type is ``(domain, name, version)``; registering it again, or undeprecating a
  registered one, is ``TypeAlreadyExistsFault``; deprecating a deprecated one is
  ``TypeDeprecatedFault``; deleting needs it deprecated first (``TypeNotDeprecatedFault``);
* a deprecated domain takes no new types (``OperationNotPermittedFault``) but answers
  everything else;
* at most 100 domains and 10,000 types of each kind per domain, deprecated ones included
  (``LimitExceededFault``); at most 50 tags per domain (``TooManyTagsFault``).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from .storage._store import Store
from .wire._faults import Fault, limit_exceeded, operation_not_permitted, unknown_resource, validation_error
from .wire._paging import page_size, page_token_codec, request_scope

REGISTERED = "REGISTERED"
DEPRECATED = "DEPRECATED"
STATUSES = (REGISTERED, DEPRECATED)

#: SWF's quotas (swf-api.md §7.13, §1).
MAX_DOMAINS = 100
MAX_TYPES_PER_KIND = 10_000
MAX_RESOURCE_TAGS = 50

#: The ``default*`` members each kind of type stores, in SWF's member names.
WORKFLOW_DEFAULTS = ("defaultTaskStartToCloseTimeout", "defaultExecutionStartToCloseTimeout",
                     "defaultTaskList", "defaultTaskPriority", "defaultChildPolicy",
                     "defaultLambdaRole")
ACTIVITY_DEFAULTS = ("defaultTaskStartToCloseTimeout", "defaultTaskHeartbeatTimeout",
                     "defaultTaskList", "defaultTaskPriority", "defaultTaskScheduleToStartTimeout",
                     "defaultTaskScheduleToCloseTimeout")



@dataclasses.dataclass(frozen=True)
class DomainRecord:
    """A registered domain as the engine sees it.

    Attributes:
        name: the domain's name.
        status: ``"REGISTERED"`` or ``"DEPRECATED"``.
        description: as registered, or ``None``.
        retention_days: ``workflowExecutionRetentionPeriodInDays`` as given (``"0"``..``"90"``
            or ``"NONE"``).
        arn: ``arn:aws:swf:<region>:<account>:/domain/<name>``.
    """

    name: str
    status: str
    description: str | None
    retention_days: str
    arn: str


@dataclasses.dataclass(frozen=True)
class TypeRecord:
    """A registered workflow or activity type as the engine sees it.

    Attributes:
        kind: ``"workflow"`` or ``"activity"``.
        domain, name, version: the type's identity.
        status: ``"REGISTERED"`` or ``"DEPRECATED"``.
        description: as registered, or ``None``.
        creation_date: epoch seconds of the registration.
        deprecation_date: epoch seconds of the (latest) deprecation, or ``None``.
        configuration: the ``default*`` members exactly as registered, in SWF's member
            names (``{"defaultTaskList": {"name": "x"}, "defaultTaskStartToCloseTimeout": "30"}``);
            absent members are absent. Treat it as read-only.
    """

    kind: str
    domain: str
    name: str
    version: str
    status: str
    description: str | None
    creation_date: float
    deprecation_date: float | None
    configuration: dict

    @property
    def swf_kind(self) -> str:
        """``"WorkflowType"`` or ``"ActivityType"``, as SWF names it in messages."""
        return _KIND_NAMES[self.kind]

    def describe_name(self) -> str:
        """SWF's text for the type in fault messages: ``WorkflowType=[name=x, version=1]``."""
        return _type_text(self.kind, self.name, self.version)


_KIND_NAMES = {"workflow": "WorkflowType", "activity": "ActivityType"}
# The request member that holds the type for each kind (workflowType / activityType).
_TYPE_MEMBER = {"workflow": "workflowType", "activity": "activityType"}


_DOMAIN_COLUMNS = "name, status, description, retention_days, arn"
_TYPE_COLUMNS = ("kind, domain, name, version, status, description, creation_date, deprecation_date, "
                 "configuration")


def _type_record(row: tuple) -> TypeRecord:
    """A TypeRecord from a ``SELECT {_TYPE_COLUMNS}`` row."""
    kind, domain, name, version, status, description, created, deprecated, configuration = row
    return TypeRecord(kind, domain, name, version, status, description, created, deprecated,
                      json.loads(configuration))


def _type_text(kind: str, name: str, version: str) -> str:
    return f"{_KIND_NAMES[kind]}=[name={name}, version={version}]"


def _fault(code: str, message: str) -> Fault:
    return Fault(code, message)


def _unique_tags(tags: Iterable[dict] | None) -> dict[str, str]:
    """Tags as ``{key: value}``; a key given twice keeps its last value."""
    return {tag["key"]: tag.get("value", "") for tag in tags or ()}


class Registry:
    """Domains, types and resource tags of one store, with an in-memory cache for lookups.

    Args:
        store: the SQLite store.
        clock: gives ``now()`` (epoch seconds) for creation and deprecation dates.
        region: the region named in domain ARNs.
        account_id: the account named in domain ARNs.

    Every mutating operation runs in one ``store.transaction()``; the cache changes only
    once that transaction committed. When an operation runs inside a caller's enclosing
    transaction, the cache changes when the operation returns; a caller that then rolls
    back must call :meth:`reload`.
    """

    OPERATIONS = (
        "RegisterDomain", "DeprecateDomain", "UndeprecateDomain", "DescribeDomain", "ListDomains",
        "RegisterWorkflowType", "DeprecateWorkflowType", "UndeprecateWorkflowType",
        "DeleteWorkflowType", "DescribeWorkflowType", "ListWorkflowTypes",
        "RegisterActivityType", "DeprecateActivityType", "UndeprecateActivityType",
        "DeleteActivityType", "DescribeActivityType", "ListActivityTypes",
        "TagResource", "UntagResource", "ListTagsForResource",
    )

    #: Quotas; instance attributes may be lowered (tests).
    max_domains = MAX_DOMAINS
    max_types_per_kind = MAX_TYPES_PER_KIND
    max_resource_tags = MAX_RESOURCE_TAGS

    def __init__(self, store: Store, clock: Any, *, region: str = "us-east-1",
                 account_id: str = "000000000000"):
        self._store = store
        self._clock = clock
        self.region = region
        self.account_id = account_id
        self._pages = page_token_codec(store)
        self._domains: dict[str, DomainRecord] = {}
        self._domains_by_arn: dict[str, str] = {}
        self._types: dict[tuple[str, str, str, str], TypeRecord] = {}
        self._type_counts: dict[tuple[str, str], int] = {}
        self.reload()

    # ------------------------------------------------------------------ cache and lookups

    def reload(self) -> None:
        """Rebuild the in-memory cache from the database (after an outer rollback)."""
        conn = self._store.connection
        domains = {row[0]: DomainRecord(*row) for row in conn.execute(f"SELECT {_DOMAIN_COLUMNS} FROM domains")}
        types: dict[tuple[str, str, str, str], TypeRecord] = {}
        counts: dict[tuple[str, str], int] = {}
        for row in conn.execute(f"SELECT {_TYPE_COLUMNS} FROM types"):
            record = _type_record(row)
            types[(record.kind, record.domain, record.name, record.version)] = record
            counts[(record.kind, record.domain)] = counts.get((record.kind, record.domain), 0) + 1
        self._domains = domains
        self._domains_by_arn = {record.arn: name for name, record in domains.items()}
        self._types = types
        self._type_counts = counts

    def domain(self, name: str) -> DomainRecord | None:
        """The domain named ``name``, registered or deprecated, or ``None``."""
        return self._domains.get(name)

    def require_domain(self, name: str | None) -> DomainRecord:
        """The domain named ``name``; raises ``UnknownResourceFault`` naming it if there is none."""
        record = self._domains.get(name) if name is not None else None
        if record is None:
            raise unknown_resource(f"Unknown domain: {name}")
        return record

    def workflow_type(self, domain: str, name: str, version: str) -> TypeRecord | None:
        """The workflow type ``(domain, name, version)``, registered or deprecated, or ``None``."""
        return self._types.get(("workflow", domain, name, version))

    def activity_type(self, domain: str, name: str, version: str) -> TypeRecord | None:
        """The activity type ``(domain, name, version)``, registered or deprecated, or ``None``."""
        return self._types.get(("activity", domain, name, version))

    def arn(self, domain: str) -> str:
        """The ARN of a domain named ``domain`` in this region and account."""
        return f"arn:aws:swf:{self.region}:{self.account_id}:/domain/{domain}"

    def _require_type(self, kind: str, params: dict) -> TypeRecord:
        domain = self.require_domain(params.get("domain"))
        ident = params.get(_TYPE_MEMBER[kind]) or {}
        name: str = ident.get("name") or ""
        version: str = ident.get("version") or ""
        record = self._types.get((kind, domain.name, name, version))
        if record is None:
            raise unknown_resource(f"Unknown type: {_type_text(kind, name, version)}")
        return record

    def _set_domain(self, record: DomainRecord) -> None:
        self._domains[record.name] = record
        self._domains_by_arn[record.arn] = record.name

    def _set_type(self, record: TypeRecord) -> None:
        key = (record.kind, record.domain, record.name, record.version)
        if key not in self._types:
            count_key = (record.kind, record.domain)
            self._type_counts[count_key] = self._type_counts.get(count_key, 0) + 1
        self._types[key] = record

    def _drop_type(self, record: TypeRecord) -> None:
        key = (record.kind, record.domain, record.name, record.version)
        if self._types.pop(key, None) is not None:
            self._type_counts[(record.kind, record.domain)] -= 1

    # ------------------------------------------------------------------ domains

    def register_domain(self, params: dict) -> dict:
        """RegisterDomain: a new domain (``DomainAlreadyExistsFault`` if the name is taken)."""
        name = params["name"]
        retention = params["workflowExecutionRetentionPeriodInDays"]
        tags = _unique_tags(params.get("tags"))
        if len(tags) > self.max_resource_tags:
            raise _fault("TooManyTagsFault",
                         f"A domain can have at most {self.max_resource_tags} tags, got {len(tags)}")
        if name in self._domains:
            raise _fault("DomainAlreadyExistsFault", name)
        if len(self._domains) >= self.max_domains:
            raise limit_exceeded(f"Cannot register domain {name}: the limit of "
                                 f"{self.max_domains} domains is reached")
        record = DomainRecord(name, REGISTERED, params.get("description"), retention, self.arn(name))
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO domains (name, status, description, retention_days, arn, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.name, record.status, record.description, record.retention_days,
                 record.arn, self._clock.now()))
            # A stale ARN row could only exist if a domain was removed by hand; start clean.
            conn.execute("DELETE FROM resource_tags WHERE arn = ?", (record.arn,))
            conn.executemany("INSERT INTO resource_tags (arn, key, value) VALUES (?, ?, ?)",
                             [(record.arn, key, value) for key, value in tags.items()])
        self._set_domain(record)
        return {}

    def deprecate_domain(self, params: dict) -> dict:
        """DeprecateDomain: deprecate a domain and every type registered in it."""
        record = self.require_domain(params.get("name"))
        if record.status == DEPRECATED:
            raise _fault("DomainDeprecatedFault", record.name)
        now = self._clock.now()
        deprecated_types = [
            dataclasses.replace(t, status=DEPRECATED, deprecation_date=now)
            for t in self._types.values() if t.domain == record.name and t.status == REGISTERED]
        with self._store.transaction() as conn:
            conn.execute("UPDATE domains SET status = ? WHERE name = ?", (DEPRECATED, record.name))
            conn.execute(
                "UPDATE types SET status = ?, deprecation_date = ? WHERE domain = ? AND status = ?",
                (DEPRECATED, now, record.name, REGISTERED))
        self._set_domain(dataclasses.replace(record, status=DEPRECATED))
        for t in deprecated_types:
            self._set_type(t)
        return {}

    def undeprecate_domain(self, params: dict) -> dict:
        """UndeprecateDomain: make a deprecated domain usable again (its types stay deprecated)."""
        record = self.require_domain(params.get("name"))
        if record.status == REGISTERED:
            raise _fault("DomainAlreadyExistsFault", record.name)
        with self._store.transaction() as conn:
            conn.execute("UPDATE domains SET status = ? WHERE name = ?", (REGISTERED, record.name))
        self._set_domain(dataclasses.replace(record, status=REGISTERED))
        return {}

    @staticmethod
    def _domain_info(record: DomainRecord) -> dict:
        info = {"name": record.name, "status": record.status, "arn": record.arn}
        if record.description is not None:
            info["description"] = record.description
        return info

    def describe_domain(self, params: dict) -> dict:
        """DescribeDomain: the domain's info and retention configuration."""
        record = self.require_domain(params.get("name"))
        return {"domainInfo": self._domain_info(record),
                "configuration": {"workflowExecutionRetentionPeriodInDays": record.retention_days}}

    def list_domains(self, params: dict) -> dict:
        """ListDomains: domains of one status, by name (reverseOrder flips), paged."""
        status = params["registrationStatus"]
        reverse = bool(params.get("reverseOrder"))
        limit = page_size(params)
        scope = request_scope("ListDomains", params)
        after = self._pages.decode(params.get("nextPageToken"), scope)
        sql = f"SELECT {_DOMAIN_COLUMNS} FROM domains WHERE status = ?"
        args: list[Any] = [status]
        if after is not None:
            if not (isinstance(after, list) and len(after) == 1 and isinstance(after[0], str)):
                raise validation_error("Invalid nextPageToken")
            sql += " AND name < ?" if reverse else " AND name > ?"
            args.append(after[0])
        sql += f" ORDER BY name {'DESC' if reverse else 'ASC'} LIMIT ?"
        args.append(limit + 1)
        # Rows, not the cache, feed the answer: a list shows exactly what the database holds.
        records = [DomainRecord(*row) for row in self._store.connection.execute(sql, args)]
        response: dict[str, Any] = {"domainInfos": [self._domain_info(r) for r in records[:limit]]}
        if len(records) > limit:
            response["nextPageToken"] = self._pages.encode(scope, [records[limit - 1].name])
        return response

    # ------------------------------------------------------------------ types

    def _register_type(self, kind: str, params: dict) -> dict:
        domain = self.require_domain(params.get("domain"))
        name, version = params["name"], params["version"]
        defaults = WORKFLOW_DEFAULTS if kind == "workflow" else ACTIVITY_DEFAULTS
        configuration = {key: params[key] for key in defaults if params.get(key) is not None}
        if domain.status == DEPRECATED:
            # SWF's model lists no DomainDeprecatedFault for Register*Type.
            raise operation_not_permitted(f"Domain is deprecated, so it takes no new types: {domain.name}")
        if (kind, domain.name, name, version) in self._types:
            raise _fault("TypeAlreadyExistsFault", _type_text(kind, name, version))
        if self._type_counts.get((kind, domain.name), 0) >= self.max_types_per_kind:
            raise limit_exceeded(
                f"Cannot register {_type_text(kind, name, version)}: domain {domain.name} "
                f"already has the maximum of {self.max_types_per_kind} {kind} types")
        record = TypeRecord(kind, domain.name, name, version, REGISTERED, params.get("description"),
                            self._clock.now(), None, configuration)
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO types (kind, domain, name, version, status, description, "
                "creation_date, deprecation_date, configuration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, record.domain, name, version, REGISTERED, record.description,
                 record.creation_date, None, json.dumps(configuration)))
        self._set_type(record)
        return {}

    def _deprecate_type(self, kind: str, params: dict) -> dict:
        record = self._require_type(kind, params)
        if record.status == DEPRECATED:
            raise _fault("TypeDeprecatedFault", record.describe_name())
        updated = dataclasses.replace(record, status=DEPRECATED, deprecation_date=self._clock.now())
        self._update_status(updated)
        return {}

    def _undeprecate_type(self, kind: str, params: dict) -> dict:
        record = self._require_type(kind, params)
        if record.status == REGISTERED:
            raise _fault("TypeAlreadyExistsFault", record.describe_name())
        self._update_status(dataclasses.replace(record, status=REGISTERED, deprecation_date=None))
        return {}

    def _update_status(self, record: TypeRecord) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE types SET status = ?, deprecation_date = ? "
                "WHERE kind = ? AND domain = ? AND name = ? AND version = ?",
                (record.status, record.deprecation_date, record.kind, record.domain,
                 record.name, record.version))
        self._set_type(record)

    def _delete_type(self, kind: str, params: dict) -> dict:
        record = self._require_type(kind, params)
        if record.status != DEPRECATED:
            raise _fault("TypeNotDeprecatedFault", record.describe_name())
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM types WHERE kind = ? AND domain = ? AND name = ? AND version = ?",
                         (kind, record.domain, record.name, record.version))
        self._drop_type(record)
        return {}

    @staticmethod
    def _type_info(record: TypeRecord) -> dict:
        info: dict[str, Any] = {
            _TYPE_MEMBER[record.kind]: {"name": record.name, "version": record.version},
            "status": record.status,
            "creationDate": record.creation_date,
        }
        if record.description is not None:
            info["description"] = record.description
        if record.deprecation_date is not None:
            info["deprecationDate"] = record.deprecation_date
        return info

    def _describe_type(self, kind: str, params: dict) -> dict:
        record = self._require_type(kind, params)
        return {"typeInfo": self._type_info(record), "configuration": dict(record.configuration)}

    def _list_types(self, kind: str, operation: str, params: dict) -> dict:
        domain = self.require_domain(params.get("domain"))
        status = params["registrationStatus"]
        reverse = bool(params.get("reverseOrder"))
        limit = page_size(params)
        scope = request_scope(operation, params)
        after = self._pages.decode(params.get("nextPageToken"), scope)
        sql = f"SELECT {_TYPE_COLUMNS} FROM types WHERE kind = ? AND domain = ? AND status = ?"
        args: list[Any] = [kind, domain.name, status]
        if params.get("name") is not None:
            sql += " AND name = ?"
            args.append(params["name"])
        if after is not None:
            if not (isinstance(after, list) and len(after) == 2 and all(isinstance(x, str) for x in after)):
                raise validation_error("Invalid nextPageToken")
            sql += " AND (name, version) < (?, ?)" if reverse else " AND (name, version) > (?, ?)"
            args.extend(after)
        order = "DESC" if reverse else "ASC"
        sql += f" ORDER BY name {order}, version {order} LIMIT ?"
        args.append(limit + 1)
        records = [_type_record(row) for row in self._store.connection.execute(sql, args)]
        response: dict[str, Any] = {"typeInfos": [self._type_info(r) for r in records[:limit]]}
        if len(records) > limit:
            last = records[limit - 1]
            response["nextPageToken"] = self._pages.encode(scope, [last.name, last.version])
        return response

    def register_workflow_type(self, params: dict) -> dict:
        """RegisterWorkflowType: a new ``(domain, name, version)`` with its defaults."""
        return self._register_type("workflow", params)

    def deprecate_workflow_type(self, params: dict) -> dict:
        """DeprecateWorkflowType: no new executions of the type; running ones continue."""
        return self._deprecate_type("workflow", params)

    def undeprecate_workflow_type(self, params: dict) -> dict:
        """UndeprecateWorkflowType: make a deprecated workflow type usable again."""
        return self._undeprecate_type("workflow", params)

    def delete_workflow_type(self, params: dict) -> dict:
        """DeleteWorkflowType: remove a deprecated workflow type."""
        return self._delete_type("workflow", params)

    def describe_workflow_type(self, params: dict) -> dict:
        """DescribeWorkflowType: the type's info and its registered defaults."""
        return self._describe_type("workflow", params)

    def list_workflow_types(self, params: dict) -> dict:
        """ListWorkflowTypes: types of one status (optionally one name), by name and version, paged."""
        return self._list_types("workflow", "ListWorkflowTypes", params)

    def register_activity_type(self, params: dict) -> dict:
        """RegisterActivityType: a new ``(domain, name, version)`` with its defaults."""
        return self._register_type("activity", params)

    def deprecate_activity_type(self, params: dict) -> dict:
        """DeprecateActivityType: no new schedules of the type; running tasks continue."""
        return self._deprecate_type("activity", params)

    def undeprecate_activity_type(self, params: dict) -> dict:
        """UndeprecateActivityType: make a deprecated activity type usable again."""
        return self._undeprecate_type("activity", params)

    def delete_activity_type(self, params: dict) -> dict:
        """DeleteActivityType: remove a deprecated activity type."""
        return self._delete_type("activity", params)

    def describe_activity_type(self, params: dict) -> dict:
        """DescribeActivityType: the type's info and its registered defaults."""
        return self._describe_type("activity", params)

    def list_activity_types(self, params: dict) -> dict:
        """ListActivityTypes: types of one status (optionally one name), by name and version, paged."""
        return self._list_types("activity", "ListActivityTypes", params)

    # ------------------------------------------------------------------ tags

    def _require_arn(self, arn: Any) -> str:
        if not isinstance(arn, str) or arn not in self._domains_by_arn:
            raise unknown_resource(f"Unknown resource: {arn}")
        return arn

    def _tags(self, conn: sqlite3.Connection, arn: str) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM resource_tags WHERE arn = ? ORDER BY key", (arn,)))

    def tag_resource(self, params: dict) -> dict:
        """TagResource: add or overwrite tags of a domain (at most 50 in all)."""
        arn = self._require_arn(params.get("resourceArn"))
        tags = _unique_tags(params.get("tags"))
        with self._store.transaction() as conn:
            merged = {**self._tags(conn, arn), **tags}
            if len(merged) > self.max_resource_tags:
                raise _fault("TooManyTagsFault",
                             f"A resource can have at most {self.max_resource_tags} tags; "
                             f"this request would give {arn} {len(merged)}")
            conn.executemany("INSERT OR REPLACE INTO resource_tags (arn, key, value) VALUES (?, ?, ?)",
                             [(arn, key, value) for key, value in tags.items()])
        return {}

    def untag_resource(self, params: dict) -> dict:
        """UntagResource: remove tags of a domain by key (unknown keys are ignored)."""
        arn = self._require_arn(params.get("resourceArn"))
        keys = params.get("tagKeys") or []
        with self._store.transaction() as conn:
            conn.executemany("DELETE FROM resource_tags WHERE arn = ? AND key = ?",
                             [(arn, key) for key in keys])
        return {}

    def list_tags_for_resource(self, params: dict) -> dict:
        """ListTagsForResource: the tags of a domain, by key."""
        arn = self._require_arn(params.get("resourceArn"))
        return {"tags": [{"key": key, "value": value}
                         for key, value in self._tags(self._store.connection, arn).items()]}
