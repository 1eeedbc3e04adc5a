"""A deterministic city-scale data set, written as the files ``jrp import`` reads.

    python -m bench.dataset [--scale city|small] [--out DIR] [--seed S]

City scale (Guangzhou's plan counts about 1.3M legal persons): 1.3M orgs, 2M persons, 3M role
holdings, 200k list entries spread over every list of the shipped vocabulary. Everything is
computed from the seed and the row index, so two runs write byte-identical files:

- ``subjects.csv``: orgs then persons (``id,kind,name,region``). Ids come from
  ``bench.graph_scale.org_id`` / ``person_id``: valid check characters, letter authorities
  (``N2``, ``Y1``), Guangzhou districts.
- ``relations.csv``: every org gets a legal representative, the rest are random roles of the
  vocabulary; about 30% of periods have ended. (org, person, role, start) is unique.
- ``entries.jsonl``: each line a ``POST /v1/entries`` body plus the initiating
  ``department`` (``jrp import entries`` without ``--department`` reads it per line). The
  major-tax list carries the attributes its trigger reads (category, amounts, ratios,
  invoice counts), about a quarter of them below the thresholds, so they trigger nothing;
  administrative penalties come in clusters of three within a year for some subjects, so
  derivations fire.
- ``checks.jsonl``: the check workload (``subject_id``, ``matter``): 40% subjects with an
  entry of their own, 30% persons holding a role in a listed org, 30% random subjects.
- ``manifest.json``: counts, seed, and a digest of the generator, so a loaded database can be
  matched to the files that built it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import inspect
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.graph_scale import REGIONS, org_id, person_id
from engine.registry.identifiers import normalize_subject_id

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
ANCHOR = date(2026, 11, 1)
"""Entries are decided in the three years before this day (fixed, so files never change)."""
SEED = 20261122


@dataclass(frozen=True)
class Scale:
    orgs: int
    persons: int
    relations: int
    entries: int
    checks: int


SCALES = {
    "city": Scale(orgs=1_300_000, persons=2_000_000, relations=3_000_000, entries=200_000,
                  checks=100_000),
    "small": Scale(orgs=13_000, persons=20_000, relations=30_000, entries=4_000, checks=5_000),
}  # fmt: skip

ROLES = (
    "legal_representative", "principal", "financial_officer", "director", "supervisor",
    "shareholder", "senior_manager", "actual_controller",
)  # fmt: skip
# Share of entries per list, with the departments that register them.
LISTS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("dishonest_judgment_debtor", 0.28, ("court",)),
    ("administrative_penalty", 0.30, (
        "market_regulation", "tax", "ecology_environment", "emergency_management",
        "drug_regulation", "housing_construction", "transport", "human_resources_social_security",
    )),
    ("major_tax_violation", 0.10, ("tax",)),
    ("a_grade_taxpayer", 0.10, ("tax",)),
    ("customs_aeo", 0.03, ("customs",)),
    ("work_safety_serious_dishonest", 0.03, ("emergency_management",)),
    ("environmental_serious_dishonest", 0.03, ("ecology_environment",)),
    ("food_drug_serious_dishonest", 0.03, ("market_regulation", "drug_regulation")),
    ("government_procurement_serious_dishonest", 0.03, ("finance",)),
    ("social_insurance_serious_dishonest", 0.03, ("human_resources_social_security",)),
    ("public_resource_trading_serious_dishonest", 0.04, ("ndrc", "housing_construction")),
)  # fmt: skip
ORG_ONLY = frozenset({"a_grade_taxpayer", "customs_aeo"})
TAX_CATEGORIES = (
    "tax_evasion", "arrears_evasion", "export_rebate_fraud", "tax_resistance",
    "vat_invoice_fraud", "ordinary_invoice_fraud", "invoice_forgery", "absconding",
    "facilitation", "tax_agent", "other_serious",
)  # fmt: skip
CHECK_MATTERS = (
    "government_procurement", "bidding", "credit_loans", "government_funding", "honours",
    "market_access", "exit", "high_consumption", "land_supply", "tax_administration",
    "company_office", "public_resource_trading",
)  # fmt: skip

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文玉兰梅海波燕辉俊峰晨阳"
_TRADE = "华信达通利兴盛源鑫泰丰隆宏发恒昌嘉德瑞祥安康永盈广汇创新科技实业贸易建设"
_FORMS = ("有限公司", "有限责任公司", "股份有限公司", "个体工商户", "专业合作社", "商行")
_DISTRICTS = ("越秀区", "海珠区", "荔湾区", "天河区", "白云区", "黄埔区", "番禺区", "花都区",
              "南沙区", "增城区", "从化区", "朝阳区", "浦东新区")  # fmt: skip


def org_name(i: int) -> str:
    """A plausible company name, distinct per index."""
    a, b = _TRADE[i * 7 % len(_TRADE)], _TRADE[i * 13 // 7 % len(_TRADE)]
    district = _DISTRICTS[i // 7 % len(_DISTRICTS)]
    return f"广州{district}{a}{b}{i:07d}{_FORMS[i % len(_FORMS)]}"


def person_name(i: int) -> str:
    """A plausible personal name (names repeat, as they do)."""
    given = _GIVEN[i * 31 % len(_GIVEN)] + ("" if i % 3 == 0 else _GIVEN[i * 17 % len(_GIVEN)])
    return _SURNAMES[i * 11 % len(_SURNAMES)] + given


def subject_rows(scale: Scale) -> Iterator[list[str]]:
    """CSV rows of ``subjects.csv`` after the header."""
    for i in range(scale.orgs):
        yield [org_id(i), "org", org_name(i), REGIONS[i // 7 % len(REGIONS)]]
    for i in range(scale.persons):
        number = person_id(i)
        yield [number, "person", person_name(i), number[:6]]


_HELD_FROM = date(1995, 1, 1).toordinal()
_HELD_DAYS = date(2026, 6, 30).toordinal() - _HELD_FROM + 1


def relation_rows(scale: Scale, seed: int) -> Iterator[tuple[int, int, str, date, date | None]]:
    """(org index, person index, role, start, end); (org, person, role, start) unique."""
    rng = random.Random(seed)
    seen: set[tuple[int, int, str, date]] = set()
    produced = 0
    while produced < scale.relations:
        first = produced < scale.orgs
        org = produced if first else rng.randrange(scale.orgs)
        person = rng.randrange(scale.persons)
        role = ROLES[0] if first else ROLES[rng.randrange(len(ROLES))]
        start = date.fromordinal(_HELD_FROM + rng.randrange(_HELD_DAYS))
        end = None if rng.random() < 0.7 else start + timedelta(days=rng.randrange(3650))
        key = (org, person, role, start)
        if key in seen:
            continue
        seen.add(key)
        produced += 1
        yield org, person, role, start, end


def _tax_attributes(rng: random.Random) -> dict[str, Any]:
    """Attributes of a major-tax entry; about a quarter fall below their category's threshold."""
    category = TAX_CATEGORIES[rng.randrange(len(TAX_CATEGORIES))]
    below = rng.random() < 0.25
    amount = rng.randrange(100_000, 990_000) if below else rng.randrange(1_000_000, 80_000_000)
    attributes: dict[str, Any] = {"category": category}
    if category in ("tax_evasion", "arrears_evasion", "tax_agent", "facilitation"):
        attributes["unpaid_tax_amount"] = amount
    if category == "tax_evasion":
        attributes["unpaid_tax_ratio"] = round(rng.uniform(0.02, 0.09 if below else 0.6), 4)
        if rng.random() < 0.3:
            attributes["unpaid_withheld_amount"] = rng.randrange(10_000, 3_000_000)
    if category == "ordinary_invoice_fraud":
        attributes["invoice_count"] = rng.randrange(5, 99) if below else rng.randrange(100, 2000)
        attributes["invoice_amount"] = amount * 2
    if category == "facilitation":
        attributes["defrauded_export_rebate"] = not below and rng.random() < 0.5
    return attributes


@dataclass(frozen=True)
class EntrySubject:
    index: int
    kind: str

    @property
    def id(self) -> str:
        return org_id(self.index) if self.kind == "org" else person_id(self.index)


def entry_rows(scale: Scale, seed: int) -> Iterator[tuple[str, dict[str, Any], EntrySubject]]:
    """(department, ``POST /v1/entries`` body, subject) for every entry, in registration order."""
    rng = random.Random(seed + 1)
    counts = [round(scale.entries * share) for _, share, _ in LISTS]
    counts[0] += scale.entries - sum(counts)
    window = ANCHOR.toordinal() - 3 * 365
    serial = 0
    for (list_code, _, owners), count in zip(LISTS, counts, strict=True):
        made = 0
        while made < count:
            org_only = list_code in ORG_ONLY
            kind = "org" if org_only or rng.random() < 0.7 else "person"
            subject = EntrySubject(
                rng.randrange(scale.orgs if kind == "org" else scale.persons), kind
            )
            # Some penalised subjects get a cluster of three inside a year: a derivation.
            cluster = 3 if list_code == "administrative_penalty" and rng.random() < 0.15 else 1
            first_day = window + rng.randrange(3 * 365 - 200)
            for k in range(min(cluster, count - made)):
                decided = date.fromordinal(first_day + k * rng.randrange(1, 60))
                department = owners[rng.randrange(len(owners))]
                serial += 1
                body: dict[str, Any] = {
                    "list": list_code,
                    "subject_id": subject.id,
                    "subject_kind": kind,
                    "decided_on": decided.isoformat(),
                    "doc_no": f"{department}〔{decided.year}〕{serial:07d}号",
                    "reason": f"bench entry {serial}",
                }
                if list_code == "major_tax_violation":
                    body["attributes"] = _tax_attributes(rng)
                elif list_code == "dishonest_judgment_debtor" and rng.random() < 0.6:
                    body["effective_to"] = (decided + timedelta(days=730)).isoformat()
                elif list_code == "administrative_penalty":
                    body["attributes"] = {"penalty_kind": rng.choice(("warning", "fine"))}
                made += 1
                yield department, body, subject


def check_rows(
    scale: Scale, seed: int, listed: list[EntrySubject], holdings: dict[int, list[int]]
) -> Iterator[dict[str, str]]:
    """The check workload: listed subjects, persons behind listed orgs, random subjects."""
    rng = random.Random(seed + 2)
    listed_orgs = [subject.index for subject in listed if subject.kind == "org"]
    for _ in range(scale.checks):
        roll = rng.random()
        matter = CHECK_MATTERS[rng.randrange(len(CHECK_MATTERS))]
        if roll < 0.4:
            subject = listed[rng.randrange(len(listed))].id
        elif roll < 0.7:
            org = listed_orgs[rng.randrange(len(listed_orgs))]
            people = holdings.get(org)
            subject = person_id(rng.choice(people)) if people else org_id(org)
        elif rng.random() < 0.4:
            subject = org_id(rng.randrange(scale.orgs))
        else:
            subject = person_id(rng.randrange(scale.persons))
        yield {"subject_id": subject, "matter": matter}


DATASET_VERSION = "1"
"""Bump whenever what the generator writes changes: stored files and base databases of an older
version are then rebuilt (``bench.run`` compares it)."""


def generator_digest() -> str:
    """Names the generator's output: version, and the id functions it draws on."""
    digest = hashlib.sha256(DATASET_VERSION.encode())
    digest.update(inspect.getsource(org_id).encode() + inspect.getsource(person_id).encode())
    return digest.hexdigest()[:16]


def generate(scale_name: str, out: Path, seed: int = SEED) -> dict[str, Any]:
    """Write the data set under ``out`` (skipped when its manifest matches); the manifest."""
    scale = SCALES[scale_name]
    manifest = {
        "scale": scale_name,
        **asdict(scale),
        "seed": seed,
        "generator": generator_digest(),
    }
    target = out / "manifest.json"
    if target.exists() and json.loads(target.read_text())["generator"] == manifest["generator"]:
        stored = json.loads(target.read_text())
        if {k: stored.get(k) for k in manifest} == manifest:
            return dict(stored)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(0, scale.orgs, max(1, scale.orgs // 50)):  # the ids are valid
        normalize_subject_id("org", org_id(i))
    for i in range(0, scale.persons, max(1, scale.persons // 50)):
        normalize_subject_id("person", person_id(i))

    with (out / "subjects.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kind", "name", "region"])
        writer.writerows(subject_rows(scale))

    holdings: dict[int, list[int]] = {}
    with (out / "relations.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["org_id", "person_id", "role", "start", "end"])
        for org, person, role, start, end in relation_rows(scale, seed):
            if role in ("legal_representative", "principal", "financial_officer"):
                holdings.setdefault(org, []).append(person)
            writer.writerow(
                [org_id(org), person_id(person), role, start.isoformat(),
                 "" if end is None else end.isoformat()]
            )  # fmt: skip

    listed: list[EntrySubject] = []
    per_department: dict[str, int] = {}
    with (out / "entries.jsonl").open("w", encoding="utf-8") as handle:
        for department, body, subject in entry_rows(scale, seed):
            handle.write(json.dumps({**body, "department": department}, ensure_ascii=False))
            handle.write("\n")
            per_department[department] = per_department.get(department, 0) + 1
            listed.append(subject)

    with (out / "checks.jsonl").open("w", encoding="utf-8") as handle:
        for row in check_rows(scale, seed, listed, holdings):
            handle.write(json.dumps(row) + "\n")

    manifest["entries_per_department"] = dict(sorted(per_department.items()))
    target.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="city")
    parser.add_argument("--out", type=Path, default=None, help="default bench/out/data-SCALE")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    out = args.out or OUT / f"data-{args.scale}"
    manifest = generate(args.scale, out, args.seed)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
