"""What the units committed at each stock level must add up to, as told by the apps that commit
them.

Only orders commit units, and the stock app must not know the orders app (it sits above stock:
see the layers in pyproject). So an app that commits units registers a source here when it
starts (orders does, in its ``AppConfig.ready``): a callable that says how many units it holds
open per (variant id, location id). ``reconcile_stock`` proves every level's ``committed``
against the sum of the sources; with no source registered, nothing may be committed anywhere.
"""

from collections import Counter
from collections.abc import Callable, Mapping

# Units held open, by (variant id, location id).
CommittedSource = Callable[[], Mapping[tuple[int, int], int]]

_sources: list[CommittedSource] = []


def register_committed_source(source: CommittedSource) -> None:
    """Count ``source``'s open units in every reconciliation from now on; registering one
    twice (an app's ``ready`` run again) counts it once."""
    if source not in _sources:
        _sources.append(source)


def committed_expected() -> dict[tuple[int, int], int]:
    """What every registered source holds open, summed per (variant id, location id); places
    where nothing is held are left out."""
    total: Counter[tuple[int, int]] = Counter()
    for source in _sources:
        total.update(source())
    return {key: units for key, units in total.items() if units}
