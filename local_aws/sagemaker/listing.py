"""SageMaker's List* semantics over plain summaries: filters, sorting and NextToken paging."""

import base64
import json

from local_aws.exceptions import ValidationException

DEFAULT_MAX_RESULTS = 10

# List* request member -> (summary key, how it compares)
_TIME_FILTERS = {
    "CreationTimeAfter": ("CreationTime", lambda value, bound: value > bound),
    "CreationTimeBefore": ("CreationTime", lambda value, bound: value < bound),
    "LastModifiedTimeAfter": ("LastModifiedTime", lambda value, bound: value > bound),
    "LastModifiedTimeBefore": ("LastModifiedTime", lambda value, bound: value < bound),
}


def listed(key: str, summaries: list[dict], params: dict, *, name_key: str, status_key: str | None = None,
           sort_keys: dict[str, str], default_sort: str = "CreationTime", default_order: str = "Ascending") -> dict:
    """The answer to a List* request `params`: the page of `summaries` it asks for under `key`, and
    NextToken only when there is a next page.

    `sort_keys` maps the request's SortBy values to summary keys.
    """
    selected = [s for s in summaries if _selected(s, params, name_key, status_key)]
    sort_by = params.get("SortBy", default_sort)
    if sort_by not in sort_keys:
        raise ValidationException(f"SortBy must be one of {sorted(sort_keys)}, not {sort_by!r}.")
    by = sort_keys[sort_by]
    present = sorted((s for s in selected if s.get(by) is not None), key=lambda s: (s[by], s[name_key]),
                     reverse=params.get("SortOrder", default_order) == "Descending")
    # Summaries without the sort field (e.g. a trial without an objective value yet) come last.
    selected = present + [s for s in selected if s.get(by) is None]
    start = _decode_token(params.get("NextToken"))
    limit = params.get("MaxResults", DEFAULT_MAX_RESULTS)
    end = start + limit
    return {key: selected[start:end], **({"NextToken": _encode_token(end)} if end < len(selected) else {})}


def _selected(summary: dict, params: dict, name_key: str, status_key: str | None) -> bool:
    contains = params.get("NameContains")
    if contains and contains.lower() not in summary[name_key].lower():
        return False
    if status_key and "StatusEquals" in params and summary.get(status_key) != params["StatusEquals"]:
        return False
    for member, (key, keep) in _TIME_FILTERS.items():
        if member in params and (summary.get(key) is None or not keep(summary[key], params[member])):
            return False
    return True


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise ValidationException(f"Invalid pagination token {token!r}.")
