"""The cost estimate of a run's model tokens: the price table and the arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from agentcron.models import DEFAULT_MODEL, Usage
from agentcron.pricing import PRICES, CostEstimate, estimate_cost, price_entry, round_usd


def test_each_kind_of_token_has_its_own_price() -> None:
    # claude-sonnet-4-5, USD per million tokens: input 3, output 15, 5-minute cache write 3.75, cache read 0.30.
    one_million_of_each = {
        "input_tokens": (1_000_000, Decimal("3")),
        "output_tokens": (1_000_000, Decimal("15")),
        "cache_creation_input_tokens": (1_000_000, Decimal("3.75")),
        "cache_read_input_tokens": (1_000_000, Decimal("0.30")),
    }
    for kind, (tokens, usd) in one_million_of_each.items():
        assert estimate_cost(Usage(**{kind: tokens}), "claude-sonnet-4-5") == CostEstimate(usd, "claude-sonnet-4-5")


def test_a_run_with_every_kind_of_token() -> None:
    usage = Usage(
        input_tokens=1_200, output_tokens=800, cache_creation_input_tokens=4_000, cache_read_input_tokens=20_000
    )
    estimate = estimate_cost(usage, "claude-haiku-4-5")
    # 1200 x $1 + 800 x $5 + 4000 x $1.25 + 20000 x $0.10, per million tokens: exact, no float drift.
    assert estimate is not None and estimate.usd == Decimal("0.0122")
    assert estimate.priced_as == "claude-haiku-4-5" and estimate.note is None


def test_cache_reads_are_not_charged_as_input() -> None:
    cached = estimate_cost(Usage(input_tokens=100, cache_read_input_tokens=10_000), "claude-opus-4-1")
    uncached = estimate_cost(Usage(input_tokens=10_100), "claude-opus-4-1")
    assert cached is not None and uncached is not None
    # 100 x $15 + 10,000 x $1.50 against 10,100 x $15, per million tokens.
    assert cached.usd == Decimal("0.0165") and uncached.usd == Decimal("0.1515")


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-opus-4-0", "claude-opus-4-0"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("Claude-Opus-4-5", "claude-opus-4-5"),
        (DEFAULT_MODEL, DEFAULT_MODEL),
    ],
)
def test_snapshot_ids_and_aliases_are_priced_as_their_model(model: str, entry: str) -> None:
    assert price_entry(model) == entry


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-9",  # a newer model: its family's price would be a guess
        "claude-opus-4-5-preview",  # not a snapshot date: not claude-opus-4-5 either
        "claude-sonnet",
        "claude-fake-1",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",  # Bedrock ids and prices are not the Claude API's
    ],
)
def test_an_unknown_model_has_no_estimate_and_says_why(model: str) -> None:
    assert price_entry(model) is None
    estimate = estimate_cost(Usage(input_tokens=1000), model)
    assert estimate == CostEstimate(None, note=f"unknown model {model}: no published price in agentcron's table")


def test_opus_4_5_is_not_priced_as_opus_4() -> None:
    a_million_in = Usage(input_tokens=1_000_000)
    assert estimate_cost(a_million_in, "claude-opus-4") == CostEstimate(Decimal("15"), "claude-opus-4")
    assert estimate_cost(a_million_in, "claude-opus-4-5") == CostEstimate(Decimal("5"), "claude-opus-4-5")


def test_a_run_without_usage_has_no_estimate_and_one_without_a_model_says_so() -> None:
    assert estimate_cost(None, "claude-sonnet-4-5") is None
    assert estimate_cost(Usage(output_tokens=5), None) == CostEstimate(None, note="the run did not record its model")


def test_zero_tokens_cost_nothing() -> None:
    assert estimate_cost(Usage(), "claude-sonnet-4-5") == CostEstimate(Decimal(0), "claude-sonnet-4-5")


def test_every_price_is_positive_and_cache_writes_cost_more_than_input() -> None:
    for model, price in PRICES.items():
        assert 0 < price.cache_read < price.input < price.cache_write_5m < price.output, model


def test_amounts_are_rounded_to_a_millionth_of_a_dollar() -> None:
    assert round_usd(Decimal("0.0000004")) == 0.0
    assert round_usd(Decimal("0.0000005")) == 0.000001  # half up, as money is
    assert round_usd(Decimal("0.01234567")) == 0.012346
