"""Reading ``/metrics`` as a scraper does, with prometheus_client's own text parser."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

#: Samples by (name, labels): what one scrape says.
Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> tuple[list[Any], Scrape]:
    families = list(text_string_to_metric_families(text))
    samples: Scrape = {}
    for family in families:
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return families, samples


def value(scrape: Scrape, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist yet."""
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def total(scrape: Scrape, name: str, **labels: str) -> float:
    """The sum of ``name`` over every series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, series), v in scrape.items() if n == name and wanted <= set(series))


#: Our metrics' names: the service's prefix, lowercase words.
NAME = re.compile(r"shuxin_[a-z][a-z0-9_]*[a-z0-9]")
#: Label names that would put an identifier (one series per bill, person, path) into a metric.
IDENTIFYING_LABELS = {"path", "url", "bill_id", "psn_no", "mdtrt_id", "order_id", "request_id"}


def convention_problems(families: Iterable[Any], routes: set[str] | None) -> list[str]:
    """What in the service's metrics breaks Prometheus's naming conventions.

    ``routes``: the templates a ``route`` label may take (``None``: any that holds no id, for a
    process whose tests added routes of their own)."""
    problems: list[str] = []
    for family in families:
        if not family.name.startswith("shuxin_"):
            continue  # the client library's own (process_*, python_*)
        where = f"{family.name} ({family.type})"
        if not NAME.fullmatch(family.name):
            problems.append(f"{where}: not a lowercase shuxin_ name")
        if not family.documentation:
            problems.append(f"{where}: no help text")
        if family.type == "counter":
            names = {sample.name for sample in family.samples}
            if not names <= {f"{family.name}_total", f"{family.name}_created"}:
                problems.append(f"{where}: a counter's samples end in _total: {names}")
        if family.type == "histogram" and not family.name.endswith("_seconds"):
            problems.append(f"{where}: a duration is in seconds, named _seconds")
        if re.search(r"(time|duration|latency|age|lag)(_|$)", family.name) and not (
            family.name.endswith(("_seconds", "_timestamp_seconds"))
        ):
            problems.append(f"{where}: a time without its unit (_seconds)")
        for sample in family.samples:
            problems += _label_problems(where, sample, routes)
    return problems


def _label_problems(where: str, sample: Sample, routes: set[str] | None) -> list[str]:
    problems = []
    labels: Mapping[str, str] = sample.labels
    for name in labels:
        if name in IDENTIFYING_LABELS:
            problems.append(f"{where}: label {name} names one thing")
    route = labels.get("route")
    if route is not None and routes is not None and route not in routes:
        problems.append(f"{where}: route {route!r} is not a route's template")
    if route is not None and (re.search(r"\d{4,}", route) or not route.startswith(("/", "unm"))):
        problems.append(f"{where}: route {route!r} holds an id")
    status = labels.get("status")
    if status is not None and not re.fullmatch(r"[1-5]\d\d", status):
        problems.append(f"{where}: status {status!r} is not an HTTP status")
    return problems
