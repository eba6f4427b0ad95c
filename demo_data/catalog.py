"""The generator's fixed vocabulary: plans and prices, names, user agents, networks, pages,
campaigns, vendors. Everything here is data; nothing here is random.

The networks are real public prefixes of large access providers (checked against the
geolocation data the tracking source ships: each resolves to the country it is listed
under); the user agents are real browser strings of 2024-2025 releases and real crawlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from demo_data.seeding import base62, platform_id, stable_hash

SITE = "https://botcriptofy.com.br"
API_VERSION = "2025-03-31.basil"

# --- Plans -----------------------------------------------------------------------------------
TIERS = ("free", "starter", "pro", "business", "enterprise")
TIER_NAMES = {
    "free": "Free",
    "starter": "Starter",
    "pro": "Pro",
    "business": "Business",
    "enterprise": "Enterprise",
}
CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
CYCLE_NAMES = {"monthly": "Mensal", "quarterly": "Trimestral", "yearly": "Anual"}
# Prices in major units per currency and cycle; USD and EUR plans are monthly or yearly.
PRICES: dict[str, dict[str, dict[str, str]]] = {
    "BRL": {
        "starter": {"monthly": "99.90", "quarterly": "269.70", "yearly": "959.00"},
        "pro": {"monthly": "199.90", "quarterly": "539.70", "yearly": "1919.00"},
        "business": {"monthly": "499.90", "quarterly": "1349.70", "yearly": "4799.00"},
        "enterprise": {"monthly": "1499.90", "quarterly": "4049.70", "yearly": "14399.00"},
    },
    "USD": {
        "starter": {"monthly": "19.90", "yearly": "191.00"},
        "pro": {"monthly": "39.90", "yearly": "383.00"},
        "business": {"monthly": "99.90", "yearly": "959.00"},
        "enterprise": {"monthly": "299.90", "yearly": "2879.00"},
    },
    "EUR": {
        "starter": {"monthly": "18.90", "yearly": "181.00"},
        "pro": {"monthly": "36.90", "yearly": "354.00"},
        "business": {"monthly": "92.90", "yearly": "892.00"},
        "enterprise": {"monthly": "279.90", "yearly": "2687.00"},
    },
}
# Monthly allowances. `storage_gb` and `bandwidth_gb` compare with usage_value (GB) of the
# `storage` and `bandwidth` usage rows; the others with usage_count of the same-named
# resource_type. bots, users and storage are levels (compare the month's maximum), api_calls,
# bandwidth and transactions are flows (compare the month's sum).
LIMITS: dict[str, dict[str, int]] = {
    "free": {
        "bots": 1,
        "api_calls": 5_000,
        "storage_gb": 1,
        "bandwidth_gb": 5,
        "users": 1,
        "transactions": 200,
    },
    "starter": {
        "bots": 3,
        "api_calls": 50_000,
        "storage_gb": 5,
        "bandwidth_gb": 25,
        "users": 2,
        "transactions": 2_000,
    },
    "pro": {
        "bots": 10,
        "api_calls": 250_000,
        "storage_gb": 25,
        "bandwidth_gb": 100,
        "users": 5,
        "transactions": 10_000,
    },
    "business": {
        "bots": 30,
        "api_calls": 1_000_000,
        "storage_gb": 100,
        "bandwidth_gb": 500,
        "users": 20,
        "transactions": 50_000,
    },
    "enterprise": {
        "bots": 150,
        "api_calls": 10_000_000,
        "storage_gb": 1_000,
        "bandwidth_gb": 5_000,
        "users": 100,
        "transactions": 500_000,
    },
}
COMMISSION_RATES = {
    "free": Decimal("0.0020"),
    "starter": Decimal("0.0015"),
    "pro": Decimal("0.0012"),
    "business": Decimal("0.0010"),
    "enterprise": Decimal("0.0008"),
}


@dataclass(frozen=True)
class Plan:
    slug: str
    tier: str
    cycle: str
    currency: str
    price: Decimal

    @property
    def id(self) -> str:
        return str(platform_id("plan", self.slug))

    @property
    def stripe_price_id(self) -> str:
        return "price_1Q" + base62(stable_hash("price", self.slug), 14)

    @property
    def months(self) -> int:
        return CYCLE_MONTHS[self.cycle]

    @property
    def monthly_value(self) -> Decimal:
        return self.price / self.months

    @property
    def minor(self) -> int:
        return int(self.price * 100)

    @property
    def tier_rank(self) -> int:
        return TIERS.index(self.tier)

    @property
    def name(self) -> str:
        money = "" if self.currency == "BRL" else f" ({self.currency})"
        return f"{TIER_NAMES[self.tier]}{money} {CYCLE_NAMES[self.cycle]}"

    def features(self) -> dict[str, Any]:
        rank = self.tier_rank
        return {
            "paper_trading": True,
            "backtesting": rank >= 1,
            "api_access": rank >= 1,
            "signal_analysis": rank >= 2,
            "copy_trading": rank >= 2,
            "priority_support": rank >= 3,
            "dedicated_manager": rank >= 4,
            "white_label": rank >= 4,
            "exchanges": [1, 2, 5, 10, 25][rank],
            "strategies": ["grid", "dca", "trend", "arbitrage", "custom"][: rank + 1],
            "trial_days": 14 if rank in (1, 2, 3) else 0,
            "support_sla_hours": [72, 24, 8, 4, 1][rank],
        }

    def limits(self) -> dict[str, int]:
        return dict(LIMITS[self.tier])


def plan_slug(tier: str, cycle: str, currency: str) -> str:
    if tier == "free":
        return "free"
    money = "" if currency == "BRL" else f"-{currency.lower()}"
    period = "" if cycle == "monthly" else f"-{cycle}"
    return f"{tier}{money}{period}"


def all_plans() -> dict[str, Plan]:
    plans = {"free": Plan("free", "free", "monthly", "BRL", Decimal("0.00"))}
    for currency, tiers in PRICES.items():
        for tier, cycles in tiers.items():
            for cycle, price in cycles.items():
                slug = plan_slug(tier, cycle, currency)
                plans[slug] = Plan(slug, tier, cycle, currency, Decimal(price))
    return plans


PLANS = all_plans()

# --- People and companies --------------------------------------------------------------------
FIRST_NAMES = (
    "Ana", "Bruno", "Camila", "Diego", "Eduarda", "Felipe", "Gabriela", "Gustavo", "Helena",
    "Igor", "Isabela", "João", "Juliana", "Larissa", "Leonardo", "Letícia", "Lucas", "Luana",
    "Marcos", "Mariana", "Mateus", "Natália", "Otávio", "Patrícia", "Paulo", "Rafael",
    "Renata", "Rodrigo", "Sabrina", "Thiago", "Vanessa", "Vinícius", "Yasmin", "André",
    "Beatriz", "Caio", "Débora", "Fernanda", "Henrique", "Júlia", "Luiz", "Priscila",
    "Ricardo", "Simone", "Tatiane", "Victor", "Wesley", "Aline", "Daniel", "Carolina",
)  # fmt: skip
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira",
    "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares",
    "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
    "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves",
    "Santana", "Teixeira", "Araújo", "Pinto", "Cavalcanti", "Monteiro", "Batista",
)  # fmt: skip
COMPANY_WORDS = (
    "Alvorada", "Ipê", "Cerrado", "Tupã", "Guanabara", "Paulista", "Jacarandá", "Araucária",
    "Pantanal", "Itaú", "Serra Azul", "Atlântica", "Aurora", "Sertão", "Pampa", "Horizonte",
    "Mantiqueira", "Capivari", "Jequitibá", "Boa Vista", "Carioca", "Tietê", "Paraná",
    "Iguaçu", "Sabiá", "Coral", "Vértice", "Ômega", "Quartzo", "Farol",
)  # fmt: skip
COMPANY_KINDS = (
    ("Capital", "Ltda"), ("Investimentos", "S.A."), ("Quant", "Tecnologia Ltda"),
    ("Trading", "Ltda"), ("Asset", "Gestão de Recursos Ltda"), ("Digital Assets", "S.A."),
    ("Gestão", "Ltda"), ("Cripto", "Serviços Digitais Ltda"), ("Fintech", "Ltda"),
)  # fmt: skip
INFLUENCER_NAMES = (
    "Canal CriptoMania", "Papo de Trader", "Bitcoin na Veia", "Cripto Sem Mistério",
    "Trader Raiz", "Moeda Forte", "Satoshi Brasil", "Investe Mais", "Gráfico Vivo",
    "Blockchain Descomplicada", "Rumo ao Milhão", "Altcoin Diária", "Hodl Brasil",
    "Mercado em Foco", "Candle Verde",
)  # fmt: skip
PERSONAL_DOMAINS = (
    ("gmail.com", 0.55), ("hotmail.com", 0.14), ("outlook.com", 0.1), ("yahoo.com.br", 0.06),
    ("icloud.com", 0.07), ("uol.com.br", 0.04), ("bol.com.br", 0.02), ("terra.com.br", 0.02),
)  # fmt: skip
BR_AREA_CODES = ("11", "21", "31", "41", "47", "48", "51", "61", "62", "71", "81", "85", "19")

# Platform staff: the same people whatever the seed (their ids are platform constants).
STAFF: tuple[tuple[str, str, str], ...] = (
    ("Marina Albuquerque", "ceo", "admin"),
    ("Fábio Tanaka", "cto", "admin"),
    ("Sérgio Prado", "financeiro", "finance"),
    ("Luciana Duarte", "compliance", "compliance"),
    ("Roberta Campos", "vendas", "sales"),
    ("Alexandre Queiroz", "vendas", "sales"),
    ("Priscila Moura", "vendas", "sales"),
    ("Tiago Bezerra", "suporte", "support"),
    ("Jéssica Farias", "suporte", "support"),
    ("Rogério Pacheco", "suporte", "support"),
    ("Bianca Torres", "suporte", "support"),
    ("Otávio Brandão", "marketing", "marketing"),
)
HOUSE_TENANT = ("BotCriptoFy2 (plataforma)", "botcriptofy2")

DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("ceo", "Diretoria Executiva (CEO)", "Estratégia, metas e decisões da empresa"),
    ("financeiro", "Financeiro", "Faturamento, cobranças, conciliação e relatórios"),
    ("marketing", "Marketing", "Aquisição, campanhas, conteúdo e afiliados"),
    ("vendas", "Vendas", "Funil comercial, leads e contas empresariais"),
    ("suporte", "Suporte (SAC)", "Atendimento a clientes, tickets e base de conhecimento"),
    ("seguranca", "Segurança", "Monitoramento de acessos, riscos e incidentes"),
    ("compliance", "Compliance e Privacidade", "LGPD/GDPR, auditoria e retenção de dados"),
    ("produto", "Produto e Tecnologia", "Plataforma de robôs, APIs e infraestrutura"),
    ("documentos", "Documentos", "Contratos, políticas e documentação"),
)
AGENTS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "ceo": (("Analista Estratégico", "mastra", ("kpi_summary", "forecast", "board_report")),),
    "financeiro": (
        ("Conciliador de Pagamentos", "mastra", ("reconciliation", "dunning", "invoices")),
        ("Relatórios Financeiros", "custom", ("pnl", "cash_flow")),
    ),
    "marketing": (
        ("Otimizador de Campanhas", "mastra", ("utm_analysis", "budget_pacing")),
        ("Gestor de Afiliados", "custom", ("referral_payouts", "fraud_checks")),
    ),
    "vendas": (("Qualificador de Leads", "mastra", ("lead_scoring", "routing", "follow_up")),),
    "suporte": (
        ("Triagem SAC", "mastra", ("classification", "priority", "auto_reply")),
        ("Assistente de Base de Conhecimento", "mastra", ("faq", "article_suggestion")),
    ),
    "seguranca": (("Sentinela de Acessos", "custom", ("anomaly_detection", "geo_velocity")),),
    "compliance": (
        ("Guardião LGPD", "mastra", ("dsr_handling", "pii_access_review", "retention")),
    ),
    "produto": (("Monitor de Robôs", "custom", ("bot_health", "exchange_latency")),),
    "documentos": (("Redator de Contratos", "mastra", ("contract_drafts", "versioning")),),
}

# --- Web: networks, devices, pages, campaigns ------------------------------------------------
# Country -> (share of human visitors, UTC offset in hours, IPv4 /16 prefixes, IPv6 /32s).
COUNTRIES: dict[str, tuple[float, int, tuple[str, ...], tuple[str, ...]]] = {
    "BR": (
        0.78,
        -3,
        (
            "177.72",
            "177.96",
            "179.208",
            "187.35",
            "189.6",
            "189.100",
            "191.185",
            "201.17",
            "186.204",
            "177.134",
            "179.96",
            "187.64",
            "189.40",
            "201.6",
            "191.32",
            "152.250",
            "186.220",
        ),
        ("2804:14c", "2804:7f0", "2804:18", "2804:d59", "2804:389"),
    ),
    "PT": (
        0.06,
        0,
        ("85.240", "85.244", "89.152", "94.60", "188.80", "87.196", "213.22", "81.193"),
        ("2001:8a0", "2001:818"),
    ),
    "US": (
        0.05,
        -5,
        ("73.15", "24.5", "98.210", "68.36", "71.192", "76.21", "172.58", "47.144"),
        ("2600:1700", "2601:1c0", "2607:fb90"),
    ),
    "AR": (0.025, -3, ("181.44", "190.190", "186.22", "190.18", "200.45", "201.235"), ()),
    "MX": (0.015, -6, ("187.188", "189.128", "187.190", "189.203"), ()),
    "ES": (0.015, 1, ("83.32", "88.12", "79.108", "81.39", "95.16"), ()),
    "DE": (0.01, 1, ("79.192", "93.192", "87.152", "91.64"), ("2003:e1", "2a02:8108")),
    "GB": (0.01, 0, ("86.128", "81.96", "109.144", "90.192"), ()),
    "CO": (0.01, -5, ("181.48", "186.80", "191.95"), ()),
    "CL": (0.01, -3, ("190.20", "181.42", "200.83", "186.10"), ()),
    "AO": (0.01, 1, ("105.168", "102.214"), ()),
}
IPV6_SHARE = 0.2  # of visitors in countries with IPv6 prefixes above

# (user agent, device class, weight within the class). Classes: desktop, mobile, tablet.
USER_AGENTS: tuple[tuple[str, str, float], ...] = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "desktop", 30),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "desktop", 9),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "desktop", 10),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "desktop", 5),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "desktop", 12),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.6 Safari/605.1.15", "desktop", 7),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 Safari/537.36", "desktop", 4),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
     "desktop", 2),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.0.0 Safari/537.36 OPR/114.0.0.0", "desktop", 2),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 Safari/537.36", "desktop", 1),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", "mobile", 30),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "mobile", 6),
    ("Mozilla/5.0 (Linux; Android 13; moto g54 5G) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.6099.230 Mobile Safari/537.36", "mobile", 6),
    ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.82 Mobile Safari/537.36", "mobile", 6),
    ("Mozilla/5.0 (Linux; Android 13; 23021RAAEG) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.6045.193 Mobile Safari/537.36", "mobile", 4),
    ("Mozilla/5.0 (Linux; Android 13; SM-A145M Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36 "
     "[FB_IAB/FB4A;FBAV/463.0.0.42.80;]", "mobile", 4),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "mobile", 1),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "mobile", 14),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "mobile", 12),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "mobile", 4),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 Instagram 345.0.0.31.97 (iPhone14,5; iOS 17_5_1; "
     "pt_BR; pt; scale=3.00; 1170x2532; 634108168)", "mobile", 5),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "tablet", 6),
    ("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "tablet", 3),
)  # fmt: skip
DEVICE_CLASSES = (("desktop", 0.38), ("mobile", 0.57), ("tablet", 0.05))
SCREENS = {
    "desktop": (("1920x1080", 40), ("1366x768", 18), ("1536x864", 14), ("1440x900", 8),
                ("2560x1440", 8), ("1280x720", 6), ("1600x900", 6)),
    "mobile": (("390x844", 20), ("393x873", 16), ("412x915", 18), ("360x800", 20),
               ("414x896", 10), ("430x932", 8), ("384x854", 8)),
    "tablet": (("810x1080", 40), ("820x1180", 35), ("800x1280", 25)),
}  # fmt: skip
# Crawlers and tools: (user agent, IPv4 /24 prefixes they come from, weight).
BOTS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     ("66.249.66", "66.249.68", "66.249.79"), 30),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; "
     "Googlebot/2.1; +http://www.google.com/bot.html)", ("66.249.66", "66.249.70"), 20),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
     ("157.55.39", "40.77.167"), 12),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", ("54.36.148",), 8),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
     ("185.191.171",), 6),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
     ("69.171.249", "31.13.115"), 8),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
     "+https://openai.com/gptbot)", ("20.171.207",), 6),
    ("python-requests/2.32.3", ("34.95.128", "35.199.64"), 5),
    ("curl/8.5.0", ("34.95.128",), 3),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/124.0.6367.60 Safari/537.36", ("35.199.64", "34.151.192"), 2),
)  # fmt: skip

# Site pages: (path, title, weight as a landing page, weight later in a session).
PAGES: tuple[tuple[str, str, float, float], ...] = (
    ("/", "BotCriptoFy2 | Robôs de trading de criptomoedas", 30, 8),
    ("/precos", "Planos e preços | BotCriptoFy2", 12, 18),
    ("/recursos", "Recursos da plataforma | BotCriptoFy2", 5, 12),
    ("/robos/grid", "Robô de Grid Trading | BotCriptoFy2", 4, 8),
    ("/robos/dca", "Robô DCA (preço médio) | BotCriptoFy2", 3, 7),
    ("/robos/copy-trading", "Copy trading de traders verificados | BotCriptoFy2", 3, 6),
    ("/backtesting", "Backtesting de estratégias | BotCriptoFy2", 2, 5),
    ("/empresas", "BotCriptoFy2 para empresas e gestoras", 2, 4),
    ("/afiliados", "Programa de afiliados | BotCriptoFy2", 2, 3),
    ("/blog/como-funciona-um-robo-de-grid", "Como funciona um robô de grid trading", 8, 3),
    ("/blog/dca-bitcoin-vale-a-pena", "DCA em bitcoin vale a pena? Guia 2025", 6, 2),
    ("/blog/imposto-de-renda-criptomoedas", "Imposto de renda sobre criptomoedas: guia", 6, 2),
    ("/blog/melhores-corretoras-cripto", "As melhores corretoras de cripto no Brasil", 5, 2),
    ("/blog/gestao-de-risco-trading", "Gestão de risco no trading automatizado", 3, 2),
    ("/ajuda", "Central de ajuda | BotCriptoFy2", 2, 4),
    ("/sobre", "Sobre nós | BotCriptoFy2", 1, 3),
    ("/contato", "Fale com a gente | BotCriptoFy2", 1, 4),
    ("/cadastro", "Crie sua conta grátis | BotCriptoFy2", 3, 7),
    ("/login", "Entrar | BotCriptoFy2", 4, 3),
    ("/lp/robo-cripto", "Robô de cripto 24h: teste grátis por 14 dias", 0, 0),
)
LEAD_PAGE = ("/contato/obrigado", "Recebemos seu contato | BotCriptoFy2")
SIGNUP_PAGE = ("/cadastro/bem-vindo", "Conta criada | BotCriptoFy2")
INTERACTIONS = ("click_cta", "scroll_75", "play_video", "open_pricing_faq", "copy_coupon")

# Channels and how their sessions look. Each: (share of human sessions at the start, at the
# end of the period; bounce rate; lead conversion rate).
CHANNELS: dict[str, tuple[float, float, float, float]] = {
    "organic_search": (0.34, 0.28, 0.42, 0.006),
    "direct": (0.22, 0.18, 0.48, 0.005),
    "paid_search": (0.09, 0.15, 0.45, 0.010),
    "paid_social": (0.05, 0.09, 0.62, 0.005),
    "organic_social": (0.09, 0.08, 0.58, 0.004),
    "referral": (0.06, 0.05, 0.40, 0.007),
    "email": (0.05, 0.06, 0.33, 0.012),
    "social": (0.04, 0.05, 0.55, 0.005),
    "affiliate": (0.06, 0.06, 0.38, 0.012),
}
# Lead `source` (seed enumeration) per channel.
LEAD_SOURCE = {
    "organic_search": "organic",
    "direct": "direct",
    "paid_search": "ads",
    "paid_social": "ads",
    "organic_social": "social",
    "referral": "referral",
    "email": "direct",
    "social": "social",
    "affiliate": "referral",
}
SEARCH_REFERRERS = (
    ("https://www.google.com.br/", 55), ("https://www.google.com/", 25),
    ("https://www.bing.com/", 7), ("https://duckduckgo.com/", 4),
    ("https://br.search.yahoo.com/", 3), ("https://search.brave.com/", 2),
    ("https://www.ecosia.org/", 1), ("https://yandex.com/", 1),
    ("android-app://com.google.android.googlequicksearchbox/", 2),
)  # fmt: skip
SOCIAL_REFERRERS = (
    ("https://www.instagram.com/", 22), ("https://l.instagram.com/", 12),
    ("https://www.facebook.com/", 14), ("https://l.facebook.com/", 8),
    ("https://m.facebook.com/", 6), ("https://t.co/", 10), ("https://www.youtube.com/", 10),
    ("https://www.linkedin.com/", 7), ("https://www.reddit.com/", 4),
    ("https://www.tiktok.com/", 5), ("https://web.telegram.org/", 2),
)  # fmt: skip
OTHER_REFERRERS = (
    ("https://www.infomoney.com.br/mercados/criptomoedas/", 20),
    ("https://portaldobitcoin.uol.com.br/", 16), ("https://livecoins.com.br/", 12),
    ("https://br.cointelegraph.com/", 12), ("https://www.tradingview.com/", 10),
    ("https://medium.com/", 8), ("https://github.com/", 4),
    ("https://www.reclameaqui.com.br/empresa/botcriptofy2/", 6),
    ("https://exame.com/future-of-money/", 8), ("https://www.mercadobitcoin.com.br/", 4),
)  # fmt: skip
# (utm_source, utm_medium, weight); medium decides the channel.
PAID_SEARCH_TAGS = (("google", "cpc", 82), ("bing", "ppc", 10), ("google", "paid", 8))
PAID_SOCIAL_TAGS = (
    ("facebook", "paidsocial", 40), ("instagram", "paidsocial", 35), ("youtube", "paid", 10),
    ("tiktok", "cpc", 15),
)  # fmt: skip
EMAIL_TAGS = (("newsletter", "email", 60), ("rd_station", "email", 25), ("mailchimp", "email", 15))
SOCIAL_TAGS = (
    ("instagram", "social", 40), ("youtube", "social", 25), ("twitter", "social", 15),
    ("linkedin", "social", 12), ("telegram", "social", 8),
)  # fmt: skip
SEARCH_CAMPAIGNS = (
    ("marca_botcriptofy", "botcriptofy2"), ("robo_trading_cripto", "robô de trading cripto"),
    ("bot_bitcoin", "bot bitcoin automatico"), ("grid_trading", "grid trading binance"),
    ("concorrentes", "alternativa 3commas"), ("dca_automatico", "dca bitcoin automático"),
)  # fmt: skip
SOCIAL_CAMPAIGNS = (
    "lancamento_copy_trading", "teste_gratis_14_dias", "webinar_gestao_risco",
    "black_friday", "remarketing_precos", "video_depoimentos",
)  # fmt: skip
EMAIL_CAMPAIGNS = (
    "newsletter_semanal", "onboarding_d3", "reengajamento_30d", "novidades_produto",
    "black_friday", "convite_webinar",
)  # fmt: skip
SEARCH_ENGINE_CPC_BRL = {"google": 2.40, "bing": 1.50}
SOCIAL_CPC_BRL = {"facebook": 0.95, "instagram": 1.10, "youtube": 0.60, "tiktok": 0.70}

# --- Expenses --------------------------------------------------------------------------------
# (category, vendor, currency, description, day of month, monthly amount at the start and
# at the end of the period); amounts grow between them with the business.
RECURRING_EXPENSES: tuple[tuple[str, str, str, str, int, float, float], ...] = (
    ("infrastructure", "Amazon Web Services", "USD", "EC2, RDS, S3 e CloudFront", 3, 1150, 3400),
    ("infrastructure", "Timescale Cloud", "USD", "Banco de séries temporais", 5, 299, 899),
    ("infrastructure", "Cloudflare", "USD", "CDN, WAF e DNS", 2, 200, 250),
    ("software", "GitHub", "USD", "Team plan", 10, 84, 196),
    ("software", "Slack", "USD", "Pro plan", 12, 88, 220),
    ("software", "Google Workspace", "BRL", "E-mail e documentos", 8, 420, 980),
    ("software", "Sentry", "USD", "Monitoramento de erros", 15, 26, 80),
    ("software", "Datadog", "USD", "Observabilidade", 18, 310, 920),
    ("software", "Movidesk", "BRL", "Plataforma de atendimento", 20, 890, 1480),
    ("office", "WeWork Faria Lima", "BRL", "Estações de trabalho", 1, 4800, 9600),
    ("professional_services", "Contabilidade Prado & Reis", "BRL", "Honorários contábeis",
     10, 2400, 3200),
    ("professional_services", "DPO Serviços de Privacidade", "BRL",
     "Encarregado de dados (LGPD) terceirizado", 15, 1800, 1800),
    ("marketing", "Produtora Conteúdo Cripto", "BRL", "Vídeos e artigos do blog", 25, 3500, 7000),
)  # fmt: skip
HEADCOUNT = (6, 15)  # people on payroll at the start and at the end, for 100 tenants
AVERAGE_SALARY_BRL = 11_500.0
PAYMENT_FEES = {  # Stripe: percent and fixed fee per successful charge, per currency
    "BRL": (Decimal("0.0399"), Decimal("0.39")),
    "USD": (Decimal("0.029"), Decimal("0.30")),
    "EUR": (Decimal("0.029"), Decimal("0.25")),
}
DISPUTE_FEE_BRL = Decimal("75.00")


@dataclass(frozen=True)
class Achievement:
    key: str
    name: str
    description: str
    icon: str
    points: int
    category: str
    requirements: dict[str, Any] = field(default_factory=dict)


ACHIEVEMENTS = (
    Achievement("first_bot", "Primeiro robô", "Criou e ligou o primeiro robô", "robot", 50,
                "onboarding", {"metric": "bots_started", "threshold": 1}),
    Achievement("first_profit", "Primeiro lucro", "Fechou a primeira operação com lucro",
                "trending-up", 100, "trading", {"metric": "profitable_trades", "threshold": 1}),
    Achievement("trades_100", "Cem operações", "Executou 100 operações com robôs", "repeat",
                200, "trading", {"metric": "trades", "threshold": 100}),
    Achievement("streak_7", "Sequência de 7 dias", "Acessou a plataforma 7 dias seguidos",
                "flame", 80, "engagement", {"metric": "login_streak_days", "threshold": 7}),
    Achievement("backtester", "Backtester", "Rodou 10 backtests", "flask", 120, "learning",
                {"metric": "backtests", "threshold": 10}),
    Achievement("strategist", "Estrategista", "Criou 5 estratégias", "chess", 150,
                "learning", {"metric": "strategies", "threshold": 5}),
    Achievement("mentor", "Mentor", "Convidou um colega para a equipe", "users", 60, "social",
                {"metric": "members_invited", "threshold": 1}),
    Achievement("marathon_30", "Maratona de 30 dias", "Robôs ativos por 30 dias seguidos",
                "medal", 300, "trading", {"metric": "bot_active_days", "threshold": 30}),
)  # fmt: skip

TRADING_SYMBOLS: dict[str, tuple[tuple[str, float], ...]] = {
    "crypto": (
        ("BTC/USDT", 30), ("ETH/USDT", 18), ("SOL/USDT", 10), ("BTC/BRL", 12),
        ("ETH/BRL", 6), ("BNB/USDT", 5), ("XRP/USDT", 6), ("ADA/USDT", 3), ("DOGE/USDT", 4),
        ("LINK/USDT", 3), ("AVAX/USDT", 3),
    ),
    "forex": (("USD/BRL", 40), ("EUR/USD", 35), ("GBP/USD", 15), ("EUR/BRL", 10)),
    "stocks": (("PETR4", 25), ("VALE3", 22), ("ITUB4", 18), ("BBDC4", 10), ("WEGE3", 10),
               ("BOVA11", 15)),
    "commodities": (("XAU/USD", 55), ("WTI", 30), ("SOJA", 15)),
}  # fmt: skip
ASSET_MIX = (("crypto", 0.86), ("forex", 0.06), ("stocks", 0.05), ("commodities", 0.03))
