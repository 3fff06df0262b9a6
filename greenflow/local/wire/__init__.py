"""The local SWF service's edge: SWF's JSON 1.0 protocol, as Amazon SWF speaks it.

Modules, one job each:

* :mod:`._http` – the HTTP/1.1 loop on a gevent ``StreamServer`` (:class:`SWFProtocolHandler`);
* :mod:`._connections` – request and idle timeouts, the connection cap;
* :mod:`._sigv4` – AWS Signature Version 4 checks of signed requests;
* :mod:`._json` – the JSON encoder every answer and stored value goes through;
* :mod:`._faults` – :class:`Fault`, an SWF error answer (code, message, HTTP status);
* :mod:`._model` – botocore's SWF service model: operations, shapes, faults, enums;
* :mod:`._validation` – requests checked against the model (and for valid Unicode), every
  problem reported at once;
* :mod:`._rules` – SWF's documented value rules (durations, names, priorities);
* :mod:`._paging` – page sizes and signed ``nextPageToken`` values.

Everything below the edge (registry, engine, visibility) speaks in these faults and rules.
"""
