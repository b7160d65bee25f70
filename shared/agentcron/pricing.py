"""What a run's model tokens cost at Anthropic's list prices: an estimate.

Prices are USD per million tokens for the Claude API, as Anthropic publishes
them (https://platform.claude.com/docs/en/about-claude/pricing and each model's
overview page), checked on PRICES_AS_OF. Each kind of token has its own price:
uncached input, output, 5-minute cache writes (the runner's cache breakpoints
are all `ephemeral`, the 5-minute kind) and cache reads.

An estimate, not a bill. It leaves out, and the API says so:
- AWS costs (Lambda, DynamoDB, SQS, S3, EventBridge; see bench/cost.py);
- web search ($10 per 1,000 searches) and other tool fees: a run's usage does
  not count them;
- batch, data-residency and long-context rates, discounts and taxes.

A model not in the table gets no estimate rather than a guess from its family:
prices within a family move (Opus 4.5 costs a third of Opus 4.1), so a guessed
figure can be several times off while looking exact. A new model is priced by
adding its published prices here (and moving PRICES_AS_OF).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from agentcron.models import Usage

PRICES_AS_OF = "2026-11-22"
TOKENS_PER_PRICE_UNIT = Decimal(1_000_000)
USD_PLACES = Decimal("0.000001")  # a millionth of a dollar: a run of a few cheap tokens still shows

# A dated snapshot id ("claude-sonnet-4-5-20250929") or a `-latest` alias costs
# what its model costs; the table is keyed by the bare id.
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|latest)$")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens of each kind."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_read: Decimal

    def cost(self, usage: Usage) -> Decimal:
        token_cost = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write_5m
            + usage.cache_read_input_tokens * self.cache_read
        )
        return token_cost / TOKENS_PER_PRICE_UNIT


def _usd_per_mtok(input: str, output: str, cache_write_5m: str, cache_read: str) -> ModelPrice:
    # From strings, so 0.30 is exactly 0.30 and sums do not drift.
    return ModelPrice(Decimal(input), Decimal(output), Decimal(cache_write_5m), Decimal(cache_read))


_OPUS_4_5_ON = _usd_per_mtok("5", "25", "6.25", "0.50")
_OPUS_3_TO_4_1 = _usd_per_mtok("15", "75", "18.75", "1.50")
_SONNET_3_7_ON = _usd_per_mtok("3", "15", "3.75", "0.30")

PRICES: dict[str, ModelPrice] = {
    "claude-opus-5": _OPUS_4_5_ON,
    "claude-opus-4-8": _OPUS_4_5_ON,
    "claude-opus-4-7": _OPUS_4_5_ON,
    "claude-opus-4-6": _OPUS_4_5_ON,
    "claude-opus-4-5": _OPUS_4_5_ON,
    "claude-opus-4-1": _OPUS_3_TO_4_1,
    "claude-opus-4-0": _OPUS_3_TO_4_1,
    "claude-opus-4": _OPUS_3_TO_4_1,
    "claude-3-opus": _OPUS_3_TO_4_1,
    # Launched 2026-06-30 at an introductory $2 / $10 that ended on 2026-08-31; since
    # 2026-09-01 it lists at Sonnet 4.6's prices.
    "claude-sonnet-5": _SONNET_3_7_ON,
    "claude-sonnet-4-6": _SONNET_3_7_ON,
    "claude-sonnet-4-5": _SONNET_3_7_ON,
    "claude-sonnet-4-0": _SONNET_3_7_ON,
    "claude-sonnet-4": _SONNET_3_7_ON,
    "claude-3-7-sonnet": _SONNET_3_7_ON,
    "claude-haiku-4-5": _usd_per_mtok("1", "5", "1.25", "0.10"),
    "claude-3-5-haiku": _usd_per_mtok("0.80", "4", "1", "0.08"),
    "claude-3-haiku": _usd_per_mtok("0.25", "1.25", "0.30", "0.03"),
}


def price_entry(model: str) -> str | None:
    """The table entry that prices `model`: its id without a snapshot date or
    `-latest`, when the table has it. Exact match only: claude-opus-4-5 is
    not priced as claude-opus-4."""
    entry = _SNAPSHOT_SUFFIX.sub("", model.strip().lower())
    return entry if entry in PRICES else None


@dataclass(frozen=True)
class CostEstimate:
    """One run's model-token cost; `usd` is None when it cannot be priced, and `note` says why."""

    usd: Decimal | None
    priced_as: str | None = None
    note: str | None = None


def estimate_cost(usage: Usage | None, model: str | None) -> CostEstimate | None:
    """None for a run that never reached the model (no usage recorded)."""
    if usage is None:
        return None
    if model is None:
        return CostEstimate(None, note="the run did not record its model")
    entry = price_entry(model)
    if entry is None:
        return CostEstimate(None, note=f"unknown model {model}: no published price in agentcron's table")
    return CostEstimate(PRICES[entry].cost(usage), priced_as=entry)


def round_usd(amount: Decimal) -> float:
    """For the API: a JSON number, rounded half up (as money is) once, after any summing."""
    return float(amount.quantize(USD_PLACES, rounding=ROUND_HALF_UP))


def usd_text(amount: Decimal) -> str:
    """An amount for a sentence: to the millionth, without trailing zeros ("1", "0.45")."""
    return f"{amount.quantize(USD_PLACES, rounding=ROUND_HALF_UP).normalize():f}"
