"""The sandbox's neutral business data: a seeded, CRM-agnostic B2B customer base.

`generate_world(seed, size, now)` returns the same world for the same arguments. Its shape is
that of a SaaS vendor's book of business: companies in several countries (a fifth of them in
Japan, with Japanese names and people), a few contacts at small customers and dozens at
enterprise ones, support cases mostly closed, onboarding in progress at young customers, one
open renewal per company plus past ones, and the data-quality warts a worker must survive:
~3 % of people opted out, ~2 % without an e-mail, ~1 % sharing an e-mail with someone at
another company. Every domain ends in `.example` (RFC 2606), so no generated address is real.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

MIN_SIZE = 10
MAX_SIZE = 300_000
"""The largest world: a 300,000-person benchmark run fits in the sandbox process's memory."""
VENDOR_DOMAIN = "northstar-saas.example"

OPT_OUT_SHARE = 0.03
NO_EMAIL_SHARE = 0.02
DUPLICATE_EMAIL_SHARE = 0.01  # share of people whose e-mail another company's person also has
CASES_PER_PERSON = 0.25
YOUNG_COMPANY_SHARE = 0.15  # customers signed in the last YOUNG_COMPANY_DAYS: still onboarding
YOUNG_COMPANY_DAYS = 120
OLDEST_COMPANY_DAYS = 5 * 365

ONBOARDING_STATUSES = ("Not Started", "In Progress", "Completed")
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_PRIORITIES = ("Low", "Medium", "High")
PLANS = ("Starter", "Growth", "Enterprise")
RENEWAL_STAGES = ("Prospecting", "Negotiation", "Closed Won", "Closed Lost")
LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class User:
    """A CRM user of the vendor (rep, manager, VP): owns companies, gets follow-up tasks."""

    key: int
    first_name: str
    last_name: str
    email: str
    title: str
    manager_key: int | None
    language: str


@dataclass(frozen=True)
class Company:
    """A customer account."""

    key: int
    name: str
    domain: str
    owner_key: int
    plan: str
    arr: int
    industry: str
    country: str
    onboarding_status: str
    onboarding_completed_at: datetime | None
    renewal_date: date
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class Person:
    """A contact at a customer: the person a survey goes to."""

    key: int
    company_key: int
    first_name: str
    last_name: str
    email: str | None
    role: str
    language: str
    time_zone: str
    opted_out: bool
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class SupportCase:
    """A support case (Salesforce Case, HubSpot ticket) a person opened."""

    key: int
    company_key: int
    person_key: int
    subject: str
    status: str
    priority: str
    opened_at: datetime
    closed_at: datetime | None
    modified_at: datetime


@dataclass(frozen=True)
class Renewal:
    """A renewal opportunity/deal of a company's subscription."""

    key: int
    company_key: int
    owner_key: int
    name: str
    stage: str
    amount: int
    close_date: date
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class World:
    """Everything the emulators load: users, companies, people, cases, renewals."""

    users: list[User]
    companies: list[Company]
    people: list[Person]
    cases: list[SupportCase]
    renewals: list[Renewal]


@dataclass(frozen=True)
class _Country:
    name: str
    weight: float
    time_zones: tuple[tuple[str, float], ...]
    legal_suffixes: tuple[str, ...]


_COUNTRIES = (
    _Country(
        "United States",
        0.42,
        (
            ("America/New_York", 0.45),
            ("America/Chicago", 0.3),
            ("America/Denver", 0.07),
            ("America/Los_Angeles", 0.18),
        ),
        ("Inc.", "LLC", "Corp."),
    ),
    _Country("Japan", 0.2, (("Asia/Tokyo", 1.0),), ()),
    _Country("United Kingdom", 0.1, (("Europe/London", 1.0),), ("Ltd", "plc")),
    _Country("Germany", 0.08, (("Europe/Berlin", 1.0),), ("GmbH", "AG")),
    _Country("Canada", 0.08, (("America/Toronto", 0.6), ("America/Vancouver", 0.4)), ("Inc.",)),
    _Country(
        "Australia", 0.07, (("Australia/Sydney", 0.7), ("Australia/Perth", 0.3)), ("Pty Ltd",)
    ),
    _Country("France", 0.05, (("Europe/Paris", 1.0),), ("SAS", "SA")),
)
_JAPAN = "Japan"
_REP_TITLES = ("Account Executive", "Customer Success Manager")


@dataclass(frozen=True)
class _Profile:
    """What is decided about a company before its history is drawn."""

    name: str
    slug: str
    owner_key: int
    plan: str
    country: _Country
    industry: str


# Plans with their share of customers, contacts per customer and ARR in USD (low, high).
_PLANS = (
    ("Starter", 0.55, (1, 6), (3_000, 15_000)),
    ("Growth", 0.33, (4, 20), (15_000, 80_000)),
    ("Enterprise", 0.12, (15, 80), (80_000, 600_000)),
)

_EN_FIRST = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark",
    "Ashley", "Steven", "Emily", "Andrew", "Michelle", "Joshua", "Amanda", "Kevin", "Melissa",
    "Brian", "Laura", "George", "Rebecca", "Oliver", "Amelia", "Harry", "Sophie", "Lukas",
    "Hannah", "Pierre", "Camille", "Liam", "Chloe",
)  # fmt: skip
_EN_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Hill", "Campbell", "Mitchell", "Roberts", "Evans", "Turner", "Schmidt", "Schneider",
    "Fischer", "Weber", "Dubois", "Bernard", "Moreau", "Laurent", "Murphy", "Kelly",
)  # fmt: skip
# Japanese names as (written, romanised for e-mail addresses).
_JA_LAST = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
    ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("阿部", "abe"), ("石川", "ishikawa"), ("山下", "yamashita"), ("中島", "nakajima"),
    ("石井", "ishii"), ("小川", "ogawa"), ("前田", "maeda"), ("岡田", "okada"),
    ("長谷川", "hasegawa"), ("藤田", "fujita"), ("後藤", "goto"), ("近藤", "kondo"),
)  # fmt: skip
_JA_FIRST = (
    ("美咲", "misaki"), ("陽菜", "hina"), ("結衣", "yui"), ("さくら", "sakura"), ("葵", "aoi"),
    ("彩", "aya"), ("真由美", "mayumi"), ("恵子", "keiko"), ("由美", "yumi"), ("直子", "naoko"),
    ("優子", "yuko"), ("愛", "ai"), ("舞", "mai"), ("裕子", "hiroko"), ("智子", "tomoko"),
    ("久美子", "kumiko"), ("翔太", "shota"), ("大輔", "daisuke"), ("健太", "kenta"),
    ("拓也", "takuya"), ("翔", "sho"), ("蓮", "ren"), ("大翔", "hiroto"), ("悠真", "yuma"),
    ("誠", "makoto"), ("浩", "hiroshi"), ("隆", "takashi"), ("健一", "kenichi"),
    ("直樹", "naoki"), ("和也", "kazuya"), ("剛", "tsuyoshi"), ("亮", "ryo"), ("聡", "satoshi"),
    ("雄一", "yuichi"),
)  # fmt: skip

_EN_COMPANY_PREFIXES = (
    "Acme", "Northwind", "Blue Harbor", "Summit", "Brightline", "Ironwood", "Cedar",
    "Silverline", "Redwood", "Keystone", "Pinnacle", "Horizon", "Evergreen", "Granite",
    "Lighthouse", "Meridian", "Oakridge", "Riverbend", "Sterling", "Trident", "Vantage",
    "Westfield", "Apex", "Bluebird", "Cobalt", "Crescent", "Falcon", "Harbor Point", "Juniper",
    "Lakeside", "Maple", "Nimbus", "Orion", "Polaris", "Quartz", "Sequoia", "Tidewater",
    "Upland", "Willow", "Zenith",
)  # fmt: skip
_EN_COMPANY_QUALIFIERS = (
    "Pacific", "Atlantic", "Northern", "Southern", "Global", "United", "First", "Central",
    "Coastal", "Mountain", "Prairie", "Metro", "Digital", "Advanced", "Modern", "Royal",
    "National", "Continental", "Highland", "Valley",
)  # fmt: skip
# English company name cores with the industry they imply.
_EN_COMPANY_CORES = (
    ("Logistics", "Logistics"), ("Freight", "Logistics"), ("Analytics", "Software"),
    ("Software", "Software"), ("Systems", "Software"), ("Networks", "Telecommunications"),
    ("Telecom", "Telecommunications"), ("Health", "Healthcare"), ("Biotech", "Biotechnology"),
    ("Foods", "Food & Beverage"), ("Robotics", "Manufacturing"), ("Manufacturing", "Manufacturing"),
    ("Materials", "Manufacturing"), ("Energy", "Energy"), ("Capital", "Financial Services"),
    ("Insurance", "Insurance"), ("Media", "Media"), ("Learning", "Education"),
    ("Retail", "Retail"), ("Outfitters", "Retail"), ("Builders", "Construction"),
    ("Labs", "Biotechnology"), ("Dynamics", "Manufacturing"), ("Partners", "Financial Services"),
    ("Design", "Media"),
)  # fmt: skip
# Japanese company name parts as (written, romanised for the domain).
_JA_COMPANY_PREFIXES = (
    ("山田", "yamada"), ("東邦", "toho"), ("富士", "fuji"), ("大和", "yamato"),
    ("日進", "nisshin"), ("三和", "sanwa"), ("昭和", "showa"), ("旭", "asahi"),
    ("光", "hikari"), ("若葉", "wakaba"), ("青葉", "aoba"), ("桜", "sakura"),
    ("松風", "matsukaze"), ("日本橋", "nihonbashi"), ("丸の内", "marunouchi"),
    ("千代田", "chiyoda"), ("北斗", "hokuto"), ("白鷺", "shirasagi"), ("朝霧", "asagiri"),
    ("瑞穂", "mizuho"), ("泉", "izumi"), ("菱和", "ryowa"), ("新星", "shinsei"), ("東和", "towa"),
    ("中央", "chuo"), ("協和", "kyowa"), ("平和", "heiwa"), ("誠和", "seiwa"),
    ("双葉", "futaba"), ("飛鳥", "asuka"),
)  # fmt: skip
_JA_COMPANY_QUALIFIERS = (
    ("東京", "tokyo"), ("関西", "kansai"), ("北海道", "hokkaido"), ("九州", "kyushu"),
    ("中部", "chubu"), ("東北", "tohoku"), ("横浜", "yokohama"), ("名古屋", "nagoya"),
    ("大阪", "osaka"), ("京都", "kyoto"),
)  # fmt: skip
# Japanese company name cores as (written, romanised, the industry they imply).
_JA_COMPANY_CORES = (
    ("商事", "shoji", "Retail"), ("工業", "kogyo", "Manufacturing"),
    ("電機", "denki", "Manufacturing"), ("システムズ", "systems", "Software"),
    ("製作所", "seisakusho", "Manufacturing"), ("物流", "butsuryu", "Logistics"),
    ("食品", "shokuhin", "Food & Beverage"), ("製薬", "seiyaku", "Healthcare"),
    ("証券", "shoken", "Financial Services"), ("建設", "kensetsu", "Construction"),
    ("情報システム", "joho-system", "Software"), ("化学", "kagaku", "Manufacturing"),
    ("運輸", "unyu", "Logistics"), ("出版", "shuppan", "Media"), ("教育", "kyoiku", "Education"),
)  # fmt: skip

_ROLES = (
    ("End User", 0.45),
    ("Administrator", 0.15),
    ("Champion", 0.12),
    ("Decision Maker", 0.1),
    ("Billing", 0.08),
    ("Executive Sponsor", 0.06),
    ("Technical Evaluator", 0.04),
)
_CASE_STATUS_WEIGHTS = (("Closed", 0.7), ("New", 0.08), ("Working", 0.15), ("Escalated", 0.07))
_CASE_PRIORITY_WEIGHTS = (("Low", 0.4), ("Medium", 0.45), ("High", 0.15))
_CASE_SUBJECTS = {
    "en": (
        "Cannot log in after SSO change",
        "Export to CSV times out",
        "Question about our invoice",
        "Calendar sync stopped working",
        "Request to add seats",
        "Dashboard shows wrong totals",
        "API returns 500 on bulk update",
        "How do I reset a user's password?",
        "Notification emails not arriving",
        "Feature request: custom fields on reports",
    ),
    "ja": (
        "SSO設定変更後にログインできない",
        "CSVエクスポートがタイムアウトする",
        "請求書の内容について",
        "カレンダー連携が停止した",
        "ライセンス追加の依頼",
        "ダッシュボードの集計が合わない",
        "一括更新でAPIが500を返す",
        "ユーザーのパスワードをリセットする方法",
        "通知メールが届かない",
        "レポートへのカスタム項目追加の要望",
    ),
}


def generate_world(seed: int, size: int, now: datetime) -> World:
    """A deterministic world of `size` people (10..300,000) whose history ends at `now`."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"world size must be within {MIN_SIZE}..{MAX_SIZE} people, got {size}")
    if now.tzinfo is None:
        raise ValueError("generate_world needs a timezone-aware `now`")
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not secret
    return _Generator(rng, size, now).build()


class _Generator:
    """One generation run: the RNG, the clock, and the names already taken."""

    def __init__(self, rng: random.Random, size: int, now: datetime) -> None:
        self.rng = rng
        self.size = size
        self.now = now
        self.company_names: set[str] = set()
        self.domains: set[str] = set()
        self.emails: set[str] = set()

    def build(self) -> World:
        users = self._users()
        companies, headcounts = self._companies(users)
        people = self._people(companies, headcounts)
        cases = self._cases(people)
        renewals = self._renewals(companies)
        return World(users, companies, people, cases, renewals)

    def _users(self) -> list[User]:
        """A VP of Customer Success, team managers, and reps (a quarter of them Japanese)."""
        count = max(4, min(120, self.size // 250))
        managers = max(1, (count - 1) // 7)
        reps = count - 1 - managers
        ja_reps = max(1, round(reps * 0.25))
        users = [self._user(0, "VP Customer Success", None, "en")]
        for index in range(managers):
            language = "ja" if managers > 1 and index == managers - 1 else "en"
            users.append(self._user(len(users), "Head of Customer Success", 0, language))
        manager_keys = [user.key for user in users[1:]]
        ja_manager = manager_keys[-1]
        en_managers = manager_keys[:-1] or manager_keys
        for index in range(reps):
            language = "ja" if index >= reps - ja_reps else "en"
            manager = ja_manager if language == "ja" else en_managers[index % len(en_managers)]
            title = "Account Executive" if index % 3 == 0 else "Customer Success Manager"
            users.append(self._user(len(users), title, manager, language))
        return users

    def _user(self, key: int, title: str, manager_key: int | None, language: str) -> User:
        first, last, first_r, last_r = self._name(language)
        email = self._unique_email(f"{first_r}.{last_r}", VENDOR_DOMAIN)
        return User(key, first, last, email, title, manager_key, language)

    def _companies(self, users: Sequence[User]) -> tuple[list[Company], list[int]]:
        """Companies until their headcounts cover `size` people; the last one is trimmed."""
        rng = self.rng
        reps = [user for user in users if user.title in _REP_TITLES]
        reps_by_language = {
            language: [user.key for user in reps if user.language == language]
            for language in LANGUAGES
        }
        country_weights = [country.weight for country in _COUNTRIES]
        plan_weights = [plan[1] for plan in _PLANS]
        companies: list[Company] = []
        headcounts: list[int] = []
        remaining = self.size
        largest = max(2, self.size // 5)  # small worlds still get several companies
        while remaining > 0:
            country = rng.choices(_COUNTRIES, country_weights)[0]
            plan, _, (low, high), (arr_low, arr_high) = rng.choices(_PLANS, plan_weights)[0]
            headcount = min(remaining, rng.randint(low, high), largest)
            remaining -= headcount
            language = "ja" if country.name == _JAPAN else "en"
            name, slug, industry = self._company_name(country, language)
            owner = rng.choice(reps_by_language[language])
            profile = _Profile(name, slug, owner, plan, country, industry)
            arr = rng.randrange(arr_low, arr_high, 100)
            companies.append(self._company(len(companies), profile, arr))
            headcounts.append(headcount)
        return companies, headcounts

    def _company(self, key: int, profile: "_Profile", arr: int) -> Company:
        rng, now = self.rng, self.now
        young = rng.random() < YOUNG_COMPANY_SHARE
        age_days = (
            rng.uniform(1, YOUNG_COMPANY_DAYS)
            if young
            else rng.uniform(YOUNG_COMPANY_DAYS, OLDEST_COMPANY_DAYS)
        )
        created = now - timedelta(days=age_days)
        completed: datetime | None = None
        if age_days < 14:
            status = "Not Started" if rng.random() < 0.7 else "In Progress"
        elif age_days < YOUNG_COMPANY_DAYS and rng.random() < 0.65:
            status = "In Progress"
        else:
            status = "Completed"
            completed = created + timedelta(days=rng.uniform(10, min(90, age_days)))
        touched = created + (now - created) * rng.random()
        modified = max(touched, completed) if completed else touched
        return Company(
            key=key,
            name=profile.name,
            domain=self._unique_domain(profile.slug),
            owner_key=profile.owner_key,
            plan=profile.plan,
            arr=arr,
            industry=profile.industry,
            country=profile.country.name,
            onboarding_status=status,
            onboarding_completed_at=completed,
            renewal_date=_next_anniversary(created.date(), now.date()),
            created_at=created,
            modified_at=modified,
        )

    def _company_name(self, country: _Country, language: str) -> tuple[str, str, str]:
        """(display name, domain slug, industry), unique among the world's companies."""
        rng = self.rng
        if language == "ja":
            prefix, prefix_r = rng.choice(_JA_COMPANY_PREFIXES)
            core, core_r, industry = rng.choice(_JA_COMPANY_CORES)
            qualifier, qualifier_r = "", ""
            for _ in range(3):
                base = f"{prefix}{qualifier}{core}"
                if base not in self.company_names:
                    break
                qualifier, qualifier_r = rng.choice(_JA_COMPANY_QUALIFIERS)
            base = self._unique_name(f"{prefix}{qualifier}{core}")
            name = f"株式会社{base}" if rng.random() < 0.6 else f"{base}株式会社"
            slug = "-".join(part for part in (prefix_r, qualifier_r, core_r) if part)
            return name, slug, industry
        prefix = rng.choice(_EN_COMPANY_PREFIXES)
        core, industry = rng.choice(_EN_COMPANY_CORES)
        base = f"{prefix} {core}"
        for _ in range(3):
            if base not in self.company_names:
                break
            base = f"{prefix} {rng.choice(_EN_COMPANY_QUALIFIERS)} {core}"
        base = self._unique_name(base)
        name = f"{base} {rng.choice(country.legal_suffixes)}"
        return name, base.lower().replace(" ", "-"), industry

    def _unique_name(self, base: str) -> str:
        name, number = base, 2
        while name in self.company_names:
            name = f"{base} {number}"
            number += 1
        self.company_names.add(name)
        return name

    def _unique_domain(self, slug: str) -> str:
        domain, number = f"{slug}.example", 2
        while domain in self.domains:
            domain = f"{slug}{number}.example"
            number += 1
        self.domains.add(domain)
        return domain

    def _unique_email(self, local: str, domain: str) -> str:
        email, number = f"{local}@{domain}", 2
        while email in self.emails:
            email = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(email)
        return email

    def _name(self, language: str) -> tuple[str, str, str, str]:
        """(first, last, first romanised, last romanised) in the language's naming culture."""
        rng = self.rng
        if language == "ja":
            first, first_r = rng.choice(_JA_FIRST)
            last, last_r = rng.choice(_JA_LAST)
            return first, last, first_r, last_r
        first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
        return first, last, first.lower(), last.lower()

    def _people(self, companies: Sequence[Company], headcounts: Sequence[int]) -> list[Person]:
        rng, now = self.rng, self.now
        role_names = [role for role, _ in _ROLES]
        role_weights = [weight for _, weight in _ROLES]
        countries = {country.name: country for country in _COUNTRIES}
        people: list[Person] = []
        for company, headcount in zip(companies, headcounts, strict=True):
            country = countries[company.country]
            zones = [zone for zone, _ in country.time_zones]
            zone_weights = [weight for _, weight in country.time_zones]
            home_language = "ja" if company.country == _JAPAN else "en"
            roles = rng.choices(role_names, role_weights, k=headcount)
            company_zones = rng.choices(zones, zone_weights, k=headcount)
            span = now - company.created_at
            for index in range(headcount):
                foreign = rng.random() < (0.08 if home_language == "ja" else 0.02)
                language = ("en" if home_language == "ja" else "ja") if foreign else home_language
                first, last, first_r, last_r = self._name(language)
                email = (
                    None
                    if rng.random() < NO_EMAIL_SHARE
                    else self._unique_email(f"{first_r}.{last_r}", company.domain)
                )
                created = company.created_at + span * (rng.random() ** 2)
                people.append(
                    Person(
                        key=len(people),
                        company_key=company.key,
                        first_name=first,
                        last_name=last,
                        email=email,
                        role=roles[index],
                        language=language,
                        time_zone=company_zones[index],
                        opted_out=rng.random() < OPT_OUT_SHARE,
                        created_at=created,
                        modified_at=created + (now - created) * rng.random(),
                    )
                )
        return self._share_emails(people)

    def _share_emails(self, people: list[Person]) -> list[Person]:
        """Give ~1 % of people the e-mail of someone at another company (job moves, shared)."""
        rng = self.rng
        with_email = [person.key for person in people if person.email is not None]
        pairs = round(len(people) * DUPLICATE_EMAIL_SHARE / 2)
        involved: set[int] = set()
        attempts = 0
        while pairs > 0 and attempts < 20 * len(people):
            attempts += 1
            source, target = people[rng.choice(with_email)], people[rng.choice(with_email)]
            if source.company_key == target.company_key or {source.key, target.key} & involved:
                continue
            people[target.key] = replace(target, email=source.email)
            involved.update((source.key, target.key))
            pairs -= 1
        return people

    def _cases(self, people: Sequence[Person]) -> list[SupportCase]:
        """Support cases over the last year: most closed, open ones from the last three weeks."""
        rng, now = self.rng, self.now
        count = round(len(people) * CASES_PER_PERSON)
        statuses = rng.choices(
            [s for s, _ in _CASE_STATUS_WEIGHTS], [w for _, w in _CASE_STATUS_WEIGHTS], k=count
        )
        priorities = rng.choices(
            [p for p, _ in _CASE_PRIORITY_WEIGHTS], [w for _, w in _CASE_PRIORITY_WEIGHTS], k=count
        )
        cases: list[SupportCase] = []
        for key in range(count):
            person = rng.choice(people)
            status = statuses[key]
            window = timedelta(days=21 if status != "Closed" else 365)
            opened = max(person.created_at, now - window * rng.random())
            closed: datetime | None = None
            if status == "Closed":
                closed = min(now, opened + timedelta(hours=rng.uniform(1, 240)))
                modified = closed
            else:
                modified = opened + (now - opened) * rng.random()
            cases.append(
                SupportCase(
                    key=key,
                    company_key=person.company_key,
                    person_key=person.key,
                    subject=rng.choice(_CASE_SUBJECTS[person.language]),
                    status=status,
                    priority=priorities[key],
                    opened_at=opened,
                    closed_at=closed,
                    modified_at=modified,
                )
            )
        return cases

    def _renewals(self, companies: Sequence[Company]) -> list[Renewal]:
        """The open renewal of each company, and its past renewals of up to two years."""
        rng, now = self.rng, self.now
        renewals: list[Renewal] = []
        for company in companies:
            upcoming = company.renewal_date
            past = [_years_before(upcoming, years) for years in (2, 1)]
            for close_date in [d for d in past if d > company.created_at.date()]:
                created = _at_noon(close_date, now) - timedelta(days=rng.uniform(60, 150))
                created = max(created, company.created_at)
                stage = "Closed Won" if rng.random() < 0.94 else "Closed Lost"
                dates = (close_date, created, _at_noon(close_date, now))
                renewals.append(self._renewal(len(renewals), company, stage, dates))
            days_left = (upcoming - now.date()).days
            stage = "Negotiation" if days_left <= 60 else "Prospecting"
            opened = _at_noon(upcoming, now) - timedelta(days=150)
            created = min(now, max(company.created_at, opened))
            dates = (upcoming, created, created + (now - created) * rng.random())
            renewals.append(self._renewal(len(renewals), company, stage, dates))
        return renewals

    def _renewal(
        self, key: int, company: Company, stage: str, dates: tuple[date, datetime, datetime]
    ) -> Renewal:
        """A renewal closing, created and last modified on `dates`."""
        close_date, created, modified = dates
        return Renewal(
            key=key,
            company_key=company.key,
            owner_key=company.owner_key,
            name=f"{company.name} - Renewal {close_date.year}",
            stage=stage,
            amount=company.arr,
            close_date=close_date,
            created_at=created,
            modified_at=modified,
        )


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


def _at_noon(day: date, like: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=like.tzinfo)


def _next_anniversary(start: date, today: date) -> date:
    """The first anniversary of `start` after `today` (29 February renews on the 28th)."""
    anchor = start.replace(day=28) if (start.month, start.day) == (2, 29) else start
    candidate = anchor.replace(year=today.year)
    return candidate if candidate > today else candidate.replace(year=today.year + 1)
