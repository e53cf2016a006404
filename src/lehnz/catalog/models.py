"""What an item and a user are, as the store sends them (API, uploads and the CLI alike)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

#: "Has a character that is not blank", the same in Python, pydantic's Rust regex and the
#: ECMAScript regex of OpenAPI clients, whose ideas of whitespace differ (\x1c-\x1f, \x85,
#: \ufeff): a name one side calls blank must be refused by all.
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NOT_BLANK)]


def _finite_numbers(value: Any, path: str = "") -> Any:
    """JSON has no NaN or Infinity: PostgreSQL refuses them and other readers choke on them,
    so free-form JSON is refused with the place named rather than stored unreadable."""
    if isinstance(value, float) and not math.isfinite(value):
        where = f"{path} " if path else ""
        raise ValueError(f"{where}must be a finite number (JSON has no NaN or Infinity)")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite_numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _finite_numbers(item, f"{path}[{index}]")
    return value


#: Free-form JSON as stored: any JSON value whose numbers are finite.
StorableJson = Annotated[JsonValue, AfterValidator(_finite_numbers)]
ItemStatus = Literal["active", "inactive", "deleted"]


def normalise_price(attributes: dict[str, Any]) -> dict[str, Any]:
    """A ``price`` that arrives as a numeric string is stored as a number; any other
    non-number price is refused, since the price-aware engines read it as one."""
    if "price" not in attributes or attributes["price"] is None:
        return attributes
    price = attributes["price"]
    if isinstance(price, str):
        try:
            price = float(price.strip().replace(",", ""))
        except ValueError:
            raise ValueError(f"price must be a number, got '{attributes['price']}'") from None
        price = int(price) if price.is_integer() else price
    if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
        raise ValueError(f"price must be a number, got {attributes['price']!r}")
    if price < 0:
        raise ValueError("price must not be negative")
    return {**attributes, "price": price}


class ItemIn(BaseModel):
    """Fields left out keep their stored value on an update; ``attributes`` is replaced whole."""

    model_config = ConfigDict(extra="ignore")

    item_id: ExternalId
    item_type: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "product"
    status: ItemStatus = "active"
    attributes: dict[str, StorableJson] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _price_is_a_number(cls, value: dict[str, Any]) -> dict[str, Any]:
        return normalise_price(value)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: ExternalId
    attributes: dict[str, StorableJson] = Field(default_factory=dict)
