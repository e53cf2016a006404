"""A seeded synthetic store with a real store's skew, in the generic dataset form.

Issue 15 asks for figures at 10k, 100k and 1M shoppers; no public dataset has those shapes
with views, carts and purchases, so this makes one. The same arguments and seed give the same
files, byte for byte.

    .venv/bin/python bench/load/synth.py --out /tmp/store-100k \
        --users 100000 --items 10000 --events 1000000

Writes ``events.csv`` (``user_id,item_id,event_name,timestamp,session_id``, in time order)
and ``items.csv`` (``item_id,name,description,category,brand,price``), the form
``lehnz.evaluation.dataset`` and ``lehnz import`` read. What makes it realistic:

- item popularity is Zipf-like (exponent 1.05 over a random ranking), categories too;
- events per shopper are heavy-tailed (log-normal): most shoppers have a handful, a few
  have thousands;
- each shopper has a favourite category that about half of their views fall in;
- events come in sessions (geometric length, mean 6, seconds to minutes apart) over 180
  days, a shopper's sessions in time order;
- most events are views; a cart, a checkout or a purchase is of the item just looked at,
  and a share of events return to an item the shopper met before (repeats, re-purchases);
- names and descriptions come from word lists by category, with brands and log-normal
  prices per category, so the semantic engine has real text to encode.

Everything is NumPy arrays; rows are formatted and written a million at a time
(10M events in about a minute).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

#: The window's end: fixed, so the files do not depend on the day they are made.
END = np.datetime64("2026-11-01T00:00:00", "s")
WINDOW_DAYS = 180
CHUNK = 1_000_000

NAMES = np.array(["view", "add_to_cart", "remove_from_cart", "checkout_start", "purchase"])
NAME_SHARES = np.array([0.82, 0.09, 0.01, 0.03, 0.05])
REPEAT_SHARE = 0.08  # events that return to an item the shopper met before
AFFINITY = 0.5  # share of a shopper's browsing in their favourite category
MEAN_SESSION = 6.0

CATEGORIES: dict[str, tuple[str, ...]] = {
    "kitchen": ("mug", "teapot", "skillet", "knife set", "cutting board", "colander"),
    "garden": ("trowel", "planter", "hose", "watering can", "seed tray", "pruner"),
    "bedding": ("duvet", "pillow", "sheet set", "blanket", "throw", "mattress topper"),
    "lighting": ("lamp", "pendant light", "lantern", "string lights", "desk lamp", "bulb"),
    "footwear": ("sneaker", "boot", "sandal", "loafer", "slipper", "running shoe"),
    "outerwear": ("jacket", "parka", "raincoat", "gilet", "fleece", "windbreaker"),
    "knitwear": ("jumper", "cardigan", "scarf", "beanie", "gloves", "snood"),
    "toys": ("puzzle", "building set", "plush bear", "kite", "yo-yo", "train set"),
    "stationery": ("notebook", "fountain pen", "planner", "pencil case", "sketchbook", "ink"),
    "bags": ("backpack", "tote", "satchel", "wallet", "duffel", "bum bag"),
    "audio": ("headphones", "speaker", "earbuds", "turntable", "radio", "soundbar"),
    "fitness": ("yoga mat", "kettlebell", "skipping rope", "foam roller", "dumbbell", "band"),
    "bath": ("towel", "bath mat", "soap dish", "robe", "shower curtain", "sponge"),
    "decor": ("vase", "mirror", "cushion", "picture frame", "candle", "clock"),
    "pets": ("dog bed", "cat toy", "lead", "feeding bowl", "scratching post", "collar"),
    "tableware": ("plate", "bowl", "tumbler", "wine glass", "cutlery set", "serving dish"),
    "storage": ("basket", "crate", "shelf", "drawer unit", "jar", "hook rack"),
    "travel": ("suitcase", "neck pillow", "passport cover", "packing cubes", "luggage tag"),
    "baby": ("bib", "rattle", "romper", "blanket", "changing mat", "teether"),
    "tools": ("hammer", "screwdriver", "spirit level", "tape measure", "drill bits", "saw"),
}
ADJECTIVES = (
    "classic", "cosy", "compact", "deluxe", "everyday", "handmade", "heritage", "light",
    "modern", "nordic", "organic", "portable", "rustic", "sturdy", "slim", "soft", "vintage",
    "woven", "recycled", "premium", "minimal", "bold", "quiet", "tiny", "oversized",
)  # fmt: skip
COLOURS = (
    "black", "white", "grey", "navy", "sage", "ochre", "rust", "cream", "teal", "plum",
    "charcoal", "sand", "olive", "coral", "indigo", "walnut", "oak", "copper", "mint", "red",
)  # fmt: skip
MATERIALS = (
    "cotton", "linen", "wool", "bamboo", "stoneware", "steel", "glass", "leather", "canvas",
    "ceramic", "beech", "rattan", "recycled plastic", "cork", "brass",
)  # fmt: skip
PHRASES = (
    "Made to last and easy to care for.",
    "A favourite for gifting.",
    "Designed in small batches.",
    "Pairs well with the rest of the range.",
    "Machine washable at 30 degrees.",
    "Ships flat and assembles in minutes.",
    "Ethically sourced materials.",
    "Comes in a recyclable box.",
)
#: Events as columns: user, item, name (index into NAMES), seconds into the window, session.
Columns = tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]
]
SYLLABLES = ("ka", "lo", "mi", "ren", "sa", "to", "vel", "no", "ra", "dun", "fi", "ost", "el")


def zipf_weights(count: int, exponent: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Popularity ``1 / rank ** exponent`` over a random ranking, summing to 1."""
    ranks = rng.permutation(count) + 1
    weights = 1.0 / ranks.astype(np.float64) ** exponent
    return weights / weights.sum()


def write_items(
    path: Path, count: int, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """``items.csv``; each item's category and popularity."""
    categories = list(CATEGORIES)
    category_weights = zipf_weights(len(categories), 0.8, rng)
    category = rng.choice(len(categories), size=count, p=category_weights)
    popularity = zipf_weights(count, 1.05, rng)
    brands = [
        "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))).capitalize()
        for _ in range(max(10, count // 40))
    ]
    brand = rng.integers(0, len(brands), size=count)
    price_median = np.exp(rng.normal(3.2, 0.7, size=len(categories)))
    price = np.round(price_median[category] * np.exp(rng.normal(0, 0.5, size=count)), 2)
    picks = rng.integers(0, 1 << 30, size=(count, 6))
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("item_id,name,description,category,brand,price\n")
        lines = []
        for n in range(count):
            cat = categories[category[n]]
            nouns = CATEGORIES[cat]
            p = picks[n]
            noun = nouns[p[0] % len(nouns)]
            adjective, colour = ADJECTIVES[p[1] % len(ADJECTIVES)], COLOURS[p[2] % len(COLOURS)]
            material = MATERIALS[p[3] % len(MATERIALS)]
            name = f"{adjective.capitalize()} {colour} {noun}"
            article = "An" if adjective[0] in "aeiou" else "A"
            description = (
                f"{article} {adjective} {noun} in {colour} {material}. "
                f"{PHRASES[p[4] % len(PHRASES)]} {PHRASES[p[5] % len(PHRASES)]}"
            )
            lines.append(f"i{n},{name},{description},{cat},{brands[brand[n]]},{price[n]:.2f}\n")
        out.writelines(lines)
    return category.astype(np.int64), popularity


def events_per_user(users: int, events: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Heavy-tailed counts, at least one each, adding up to ``events``."""
    if events < users:
        raise SystemExit("--events must be at least --users (every shopper has an event)")
    weights = rng.lognormal(0.0, 1.3, size=users)
    return 1 + rng.multinomial(events - users, weights / weights.sum()).astype(np.int64)


def draw_items(
    count: int,
    favourite: NDArray[np.int64] | None,
    category: NDArray[np.int64],
    popularity: NDArray[np.float64],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Items by popularity, within ``favourite[k]`` (a category) where given, else overall.

    Inverse transform sampling on one cumulative sum over the items grouped by category:
    a draw inside a category is a uniform number inside that category's stretch of it."""
    by_category = np.argsort(category, kind="stable")
    cumulative = np.cumsum(popularity[by_category])
    cumulative /= cumulative[-1]
    starts = np.searchsorted(category[by_category], np.arange(category.max() + 2))
    low = np.concatenate(([0.0], cumulative))[starts[:-1]]
    high = np.concatenate(([0.0], cumulative))[starts[1:]]
    u = rng.random(count)
    target = u if favourite is None else low[favourite] + u * (high[favourite] - low[favourite])
    picked = np.minimum(np.searchsorted(cumulative, target, side="right"), len(cumulative) - 1)
    return by_category[picked].astype(np.int64)


def make_events(
    users: int,
    events: int,
    category: NDArray[np.int64],
    popularity: NDArray[np.float64],
    rng: np.random.Generator,
) -> Columns:
    """(user, item, name index, epoch seconds, session) of every event, in time order."""
    counts = events_per_user(users, events, rng)
    user = np.repeat(np.arange(users, dtype=np.int64), counts)
    user_start = np.repeat(np.cumsum(counts) - counts, counts)
    position = np.arange(events, dtype=np.int64) - user_start
    # Sessions: a new one at each shopper's first event, then with probability 1/mean.
    new_session = (position == 0) | (rng.random(events) < 1.0 / MEAN_SESSION)
    session = np.cumsum(new_session) - 1
    sessions = int(session[-1]) + 1
    session_user = user[new_session]
    # Session starts over the window, each shopper's in time order (their events are laid
    # out in order, so repeats below point back in time).
    window = WINDOW_DAYS * 86_400
    starts = rng.integers(0, window - 3_600, size=sessions)
    starts = starts[np.lexsort((starts, session_user))]
    gaps = rng.exponential(45.0, size=events).astype(np.int64) + 1
    gaps[new_session] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[new_session], np.bincount(session, minlength=sessions))
    seconds = starts[session] + elapsed
    # What is looked at: the favourite category about half of the time, else anything.
    favourite_of_user = draw_items(users, None, category, popularity, rng)
    favourite = category[favourite_of_user[user]]
    browse_favourite = rng.random(events) < AFFINITY
    item = draw_items(events, None, category, popularity, rng)
    item[browse_favourite] = draw_items(
        int(browse_favourite.sum()), favourite[browse_favourite], category, popularity, rng
    )
    # Repeats: back to an item met earlier (a re-view, a re-purchase).
    repeat = (rng.random(events) < REPEAT_SHARE) & (position > 0)
    back = (rng.random(int(repeat.sum())) * position[repeat]).astype(np.int64)
    item[repeat] = item[user_start[repeat] + back]
    # The funnel: a cart, checkout or purchase is of the item just looked at.
    name = rng.choice(len(NAMES), size=events, p=NAME_SHARES)
    follows = np.flatnonzero((name > 0) & ~new_session)
    for _ in range(3):  # a purchase after a cart after a view: each takes the view's item
        item[follows] = item[follows - 1]
    order = np.argsort(seconds, kind="stable")
    return user[order], item[order], name[order], seconds[order], session[order]


def write_events(
    path: Path,
    columns: Columns,
) -> None:
    user, item, name, seconds, session = columns
    begin = END - np.timedelta64(WINDOW_DAYS * 86_400, "s")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("user_id,item_id,event_name,timestamp,session_id\n")
        for start in range(0, len(user), CHUNK):
            part = slice(start, start + CHUNK)
            stamps = (begin + seconds[part].astype("timedelta64[s]")).astype(str)
            rows = zip(
                np.char.add("u", user[part].astype(str)).tolist(),
                np.char.add("i", item[part].astype(str)).tolist(),
                NAMES[name[part]].tolist(),
                stamps.tolist(),
                np.char.add("s", session[part].astype(str)).tolist(),
                strict=True,
            )
            out.write("\n".join(map(",".join, rows)))
            out.write("\n")


def generate(out: Path, *, users: int, items: int, events: int, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    category, popularity = write_items(out / "items.csv", items, rng)
    columns = make_events(users, events, category, popularity, rng)
    write_events(out / "events.csv", columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    if min(args.users, args.items, args.events) < 1:
        raise SystemExit("--users, --items and --events must be positive")
    started = time.perf_counter()
    generate(args.out, users=args.users, items=args.items, events=args.events, seed=args.seed)
    print(
        f"{args.out}: {args.users:,} users, {args.items:,} items, {args.events:,} events "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
