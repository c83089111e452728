"""Was the story really there? Every fetched article page gets an access label.

Pure; no I/O, no module state. The one place for the rules that tell a story from
what a site serves in its place (extract/story.py asks here):

- `bot_challenge`: an anti-bot interstitial: Cloudflare ("Just a moment...", `cf-chl`,
  `__cf_chl`, `challenge-platform`), Akamai ("Access Denied ... Reference #"), AWS WAF
  (`awswaf`, `aws-waf-token`), DataDome, PerimeterX (`px-captcha`), a `<noscript>`
  "enable JavaScript" page with hardly any text, or a 403/429/503 answer whose body is
  such a page (`challenge_body`);
- `consent_wall`: a page whose text is a consent dialog: short, and dominated by
  consent vocabulary (English, German, French, Spanish, Italian, Dutch, Portuguese),
  or short with a consent vendor's dialog in its markup (OneTrust, Sourcepoint,
  Quantcast, Didomi, Usercentrics, Cookiebot, TrustArc) and consent words in its text;
- `login_wall`: a page whose main content is a login form (a password field), with
  little text and login words;
- `paywalled`: the story as the site served it to us, cut: the page's own metadata
  says so (`isAccessibleForFree: false` in JSON-LD, on the article or a `hasPart`
  with a `cssSelector`), the text ends at a "subscribe to continue" marker, paywall
  markup sits beside a short text, or the text is much shorter than the story's own
  feed summary.

A word alone decides nothing: every wall is judged on the page's shape (a short text,
the markup), and words only confirm it, so a long story that talks about cookies,
captchas or subscriptions stays `ok`. Nothing is ever bypassed: the label says what
the site served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from pipeline.decode import to_text
from pipeline.extract.metadata import _json_objects
from pipeline.models import ACCESS_LABELS

OK, PAYWALLED, CONSENT_WALL, BOT_CHALLENGE, LOGIN_WALL = ACCESS_LABELS
# Pages that are not the story: never stored, retried later like a transient failure.
WALLS = frozenset({CONSENT_WALL, BOT_CHALLENGE, LOGIN_WALL})
CHALLENGE_STATUSES = frozenset({403, 429, 503})

SHORT = 1500  # characters of text: walls are short, stories are not
_TINY = 400  # characters: a story text this short is judged by the page's visible text
_BARE = 200  # characters: a noscript page with less text than this is a JavaScript gate
_HEAD = 250  # characters: a gate is what the text opens with

# Markup of the anti-bot services' interstitials (in the HTML source, scripts included).
# Plain substrings, looked for in the lower-cased page: a case-insensitive regex
# alternation over 200 KB of HTML cost ~8 ms a page (measured on corpus/dev), more than
# trafilatura's own extraction; `in` on a lower-cased copy costs well under 1 ms.
_CHALLENGE_MARKERS = (
    "cf-chl",
    "__cf_chl",
    "challenge-platform",
    "cf_chl_opt",
    "cf-browser-verification",
    "awswaf",
    "aws-waf-token",
    "captcha-delivery.com",
    "datadome",
    "px-captcha",
    "_pxcaptcha",
    "perimeterx",
    "/_incapsula_resource",
    "sucuri_cloudproxy",
    "ddos-guard",
)
# Their words (title or opening text of a short page).
_CHALLENGE_WORDS = re.compile(
    r"just a moment\.\.\.|attention required|"
    r"checking (?:if the site connection is secure|your browser)|"
    r"verify (?:you are|that you are) (?:a )?human|are you a (?:robot|human)|"
    r"captcha|unusual traffic|ddos protection|pardon our interruption|"
    r"access to this page has been denied|request unsuccessful|"
    r"please (?:enable|turn on) (?:javascript|js)|enable javascript and cookies|"
    r"bitte aktivieren sie javascript|sind sie ein mensch|"
    r"vérifi\w* que vous (?:êtes|n'êtes pas)|"
    r"verifica (?:que|di) (?:eres|essere)",
    re.IGNORECASE,
)
_AKAMAI = re.compile(r"access denied.{0,400}reference\s*#", re.IGNORECASE | re.DOTALL)
_NOSCRIPT_JS = re.compile(
    r"(?:enable|activate|turn on|aktivieren|activer|activa|attiva|inschakelen)\w*"
    r".{0,40}javascript|javascript.{0,60}(?:enable|required|aktivieren|activ|attiv|nodig)",
    re.IGNORECASE | re.DOTALL,
)

# Consent vocabulary: each match is one "consent term"; a dialog is dense with them.
_CONSENT_TERMS = re.compile(
    r"cookies?\b|consent\w*|privacy|partners?\b|personal data|vendors?\b|"
    r"legitimate interest|accept all|reject all|manage (?:options|preferences|settings)|"
    r"einwilligung\w*|zustimm\w*|datenschutz\w*|alle akzeptieren|akzeptieren|ablehnen|"
    r"partner\b|personenbezogene|berechtigte[sn]? interesse|"
    r"consentement|vie privée|tout accepter|tout refuser|accepter|refuser|partenaires|"
    r"données personnelles|intérêt légitime|traceurs|"
    r"consentimiento|privacidad|aceptar(?: todo| todas)?|rechazar|socios|datos personales|"
    r"interés legítimo|"
    r"consenso|accetta(?: tutto)?|rifiuta|partner|dati personali|interesse legittimo|"
    r"toestemming|akkoord|accepteren|alles accepteren|weigeren|persoonsgegevens|"
    r"gerechtvaardigd belang|"
    r"consentimento|aceitar|privacidade|dados pessoais",
    re.IGNORECASE,
)
_CONSENT_VENDORS = (
    "#onetrust-banner-sdk, #onetrust-consent-sdk, [id^='sp_message_container'],"
    " .sp_message_container, #qc-cmp2-container, .qc-cmp2-container, #didomi-host,"
    " #didomi-popup, #usercentrics-root, #uc-banner, #CybotCookiebotDialog,"
    " #truste-consent-track, .truste_box_overlay, .fc-consent-root, #cmpbox,"
    " [class*='consent-wall'], [id*='consent-wall'], .cmp-container"
)
_CONSENT_DENSITY = 1 / 25  # consent terms per word: a dialog, not a story about cookies
_CONSENT_MIN = 4  # terms, at least

_LOGIN_WORDS = re.compile(
    r"\b(?:log ?in|sign ?in|log on|password|forgot|create an account|register|"
    r"anmelden|einloggen|passwort|kennwort|se connecter|connexion|mot de passe|"
    r"iniciar sesión|inicia sesión|contraseña|accedi|accesso|password dimenticata|"
    r"inloggen|aanmelden|wachtwoord|entrar|senha)\b",
    re.IGNORECASE,
)
_LOGIN_TEXT = 800  # characters: a login page says little else

# "Subscribe to continue": where a paywalled story's served text stops.
_SUBSCRIBE = re.compile(
    r"subscribe (?:now )?to (?:continue|keep|read)|to continue reading|"
    r"continue reading (?:with|for) |already a subscriber|this (?:article|story|content) is"
    r" (?:only )?(?:available|reserved|exclusive) (?:to|for) (?:subscribers|members)|"
    r"subscribers only|become a (?:subscriber|member) to read|"
    r"unlock (?:this|full) (?:article|story)|"
    r"jetzt (?:weiterlesen|abonnieren|freischalten)|weiterlesen mit|"
    r"(?:nur|exklusiv) für (?:abonnenten|abonnentinnen|plus)|bereits abonnent|"
    r"réservé aux abonnés|abonnez-vous pour (?:lire|continuer)|la suite est réservée|"
    r"déjà abonné|"
    r"(?:contenido )?exclusivo para suscriptores|suscríbete para (?:seguir|continuar)|"
    r"ya eres suscriptor|"
    r"riservato agli abbonati|abbonati per (?:continuare|leggere)|sei già abbonato|"
    r"alleen voor abonnees|lees verder met|word abonnee|al abonnee|"
    r"exclusivo para assinantes|assine para continuar",
    re.IGNORECASE,
)
_PAYWALL_MARKUP = (
    ".paywall, #paywall, [data-paywall], .piano-offer, .tp-modal, .tp-container-inner,"
    " .subscription-wall, .subscriber-only, .premium-wall, .regwall, #regwall,"
    " [class*='paywall-']"
)
_TAIL = 300  # characters: the end of a cut story
_SERVED = 500  # characters: a not-free part holding this much text was served whole
_SUMMARY_SHARE = 0.5  # a story much shorter than its own feed summary was cut
_SUMMARY_MIN = 200  # characters: shorter summaries are teasers, not a measure


@dataclass(frozen=True, slots=True)
class Markup:
    """What the untouched page's markup says, read once before cleaning."""

    title: str = ""
    free: bool | None = None  # isAccessibleForFree of the page's JSON-LD (None: unsaid)
    paywall: bool = False  # paywall markup on the page, holding a subscribe notice
    # An anti-bot service's interstitial markup; None: not looked for yet (read_markup's
    # `lazy`): `classify` looks only when the text is short enough for a wall.
    challenge: bool | None = False
    akamai: bool = False  # "Access Denied ... Reference #"
    noscript_js: bool = False  # a <noscript> asking for JavaScript
    consent_vendor: bool = False  # a consent vendor's dialog
    password: bool = False  # a login form (a password field)


@dataclass(frozen=True, slots=True)
class Verdict:
    label: str = OK
    reason: str = ""


def read_markup(tree: LexborHTMLParser, html: str, *, lazy: bool = False) -> Markup:
    """The access signals of a parsed, still untouched page (`html` its source). With
    `lazy`, the anti-bot markup is not looked for (`challenge` is None): scanning the
    source costs more than the rest together, and only a short text needs it."""
    title_node = tree.css_first("title")
    title = title_node.text() if title_node is not None else ""
    noscript = " ".join(n.text(deep=True) for n in tree.css("noscript"))
    body = tree.body
    visible = body.text(deep=True, separator=" ")[:4000] if body is not None else ""
    return Markup(
        title=title.strip(),
        free=_accessible_for_free(tree),
        paywall=any(_SUBSCRIBE.search(n.text(deep=True)) for n in tree.css(_PAYWALL_MARKUP)),
        challenge=None if lazy else challenge_markup(html),
        akamai=bool(_AKAMAI.search(visible[:2000])),
        noscript_js=bool(_NOSCRIPT_JS.search(noscript)),
        consent_vendor=tree.css_first(_CONSENT_VENDORS) is not None,
        password=tree.css_first("input[type='password' i]") is not None,
    )


def challenge_markup(html: str) -> bool:
    """Whether the page's source (its first 200,000 characters) carries an anti-bot
    service's interstitial markup."""
    page = html[:200_000].lower()
    return any(marker in page for marker in _CHALLENGE_MARKERS)


def _accessible_for_free(tree: LexborHTMLParser) -> bool | None:
    """False when the page's JSON-LD says the story is not free to read and the part it
    marks as not free (hasPart's cssSelector) was not served to us; True when it says
    the story is free, or the marked part is on the page with its text (the site served
    it whole); None when it is silent."""
    said: bool | None = None
    withheld = False  # a not-free story, or a not-free part the page lacks
    stack: list[object] = list(_json_objects(tree))
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        value = item.get("isAccessibleForFree")
        part = item.get("hasPart")
        if value is not None:
            free = str(value).strip().lower() not in ("false", "0", "no")
            said = said if said is False else free
            selector = item.get("cssSelector")
            if not free and not (isinstance(selector, str) and _served(tree, selector)):
                # A story marked not free whose parts (if any) are judged on their own.
                withheld = withheld or selector is not None or part is None
        if part is not None:
            stack.append(part)
    if withheld:
        return False
    return None if said is None else True


def _served(tree: LexborHTMLParser, selector: str) -> bool:
    """Whether the page holds the text of the part `selector` marks (not just its box)."""
    try:
        nodes = tree.css(selector)
    except (ValueError, SelectolaxError):  # a selector Lexbor cannot read
        return False
    return sum(len(n.text(deep=True).strip()) for n in nodes) >= _SERVED


def classify(
    markup: Markup,
    text: str,
    *,
    status: int = 200,
    summary: str | None = None,
    html: str | None = None,
) -> Verdict:
    """The access label of a page whose markup says `markup` and whose extracted story
    text is `text`. When that text is hardly anything (cleaning drops consent dialogs
    and forms), the page's visible text (of its source `html`) is judged instead.
    Markup read `lazy` gets its anti-bot markup from `html` here, when the text is short
    enough for a wall."""
    if markup.challenge is None and len(text) < SHORT:
        markup = replace(markup, challenge=html is not None and challenge_markup(html))
    wall = wall_of(markup, text, status=status)
    if wall is None and html is not None and len(text) < _TINY:
        wall = wall_of(markup, visible_text(html), status=status)
    if wall is not None:
        return wall
    return _paywall(markup, text, summary)


def visible_text(html: str) -> str:
    """The text a reader of the page sees (scripts and styles left out), in one line."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(["script", "style", "template", "noscript"])
    body = tree.body
    text = body.text(deep=True, separator=" ") if body is not None else ""
    return " ".join(text.split())


def wall_of(markup: Markup, text: str, *, status: int = 200) -> Verdict | None:
    """The wall (consent, challenge, login) a page is in place of its story, or None."""
    if len(text) >= SHORT:
        return None
    head = f"{markup.title} {text[:_HEAD]}"
    if markup.challenge or markup.akamai:
        return Verdict(BOT_CHALLENGE, "a bot-challenge page in place of the story")
    if _CHALLENGE_WORDS.search(head) and (len(text) < SHORT / 2 or status in CHALLENGE_STATUSES):
        return Verdict(BOT_CHALLENGE, "a bot-challenge page in place of the story")
    if markup.noscript_js and len(text) < _BARE:
        return Verdict(BOT_CHALLENGE, "a JavaScript-only page (noscript) in place of the story")
    terms = len(_CONSENT_TERMS.findall(f"{markup.title} {text}"))
    words = max(1, len(text.split()))
    opens = bool(_CONSENT_TERMS.search(head))  # a dialog opens with it, a footer does not
    if opens and terms >= _CONSENT_MIN and terms >= _CONSENT_DENSITY * words:
        return Verdict(CONSENT_WALL, "a consent dialog in place of the story")
    if markup.consent_vendor and terms >= 2 and len(text) < SHORT / 2:
        return Verdict(CONSENT_WALL, "a consent dialog in place of the story")
    if markup.password and len(text) < _LOGIN_TEXT and _LOGIN_WORDS.search(head):
        return Verdict(LOGIN_WALL, "a login form in place of the story")
    return None


def _paywall(markup: Markup, text: str, summary: str | None) -> Verdict:
    if markup.free is False:
        return Verdict(PAYWALLED, "the page's metadata says it is not free to read")
    if _SUBSCRIBE.search(text[-_TAIL:]):
        return Verdict(PAYWALLED, "the text ends at a subscribe-to-continue notice")
    if markup.paywall and len(text) < SHORT:
        return Verdict(PAYWALLED, "a paywall's subscribe notice beside a short text")
    if summary and len(summary) >= _SUMMARY_MIN and len(text) < _SUMMARY_SHARE * len(summary):
        return Verdict(
            PAYWALLED,
            f"the text ({len(text)} characters) is shorter than its feed summary ({len(summary)})",
        )
    return Verdict()


def challenge_body(status: int, html: str) -> Verdict | None:
    """The bot challenge a 403/429/503 answer's body is, or None (a plain error page)."""
    if status not in CHALLENGE_STATUSES or not html:
        return None
    markup = read_markup(LexborHTMLParser(html), html)
    verdict = wall_of(markup, visible_text(html), status=status)
    if verdict is not None and verdict.label == BOT_CHALLENGE:
        return Verdict(BOT_CHALLENGE, f"HTTP {status}: a bot-challenge page")
    return None


def judge_challenge(status: int, body: bytes, encoding: str | None) -> str | None:
    """Why a 403/429/503 answer's body (in charset `encoding`) is a bot challenge, or
    None: the fetcher's `challenge` judge (it cannot import extraction itself)."""
    verdict = challenge_body(status, to_text(body, encoding))
    return verdict.reason if verdict is not None else None
