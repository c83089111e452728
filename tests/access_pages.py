"""Hand-written pages that stand in for a story, as sites serve them: consent dialogs,
bot challenges and login forms in several languages, and paywalled stories. Shared by
test_access.py (the classifier) and test_access_e2e.py (the real CLI on a local site).
"""

from __future__ import annotations

import json


def page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}"
        f"</head><body>{body}</body></html>"
    )


CONSENT = {
    "en": page(
        "Before you continue",
        "<div id='onetrust-consent-sdk'><div id='onetrust-banner-sdk'>"
        "<h2>We value your privacy</h2>"
        "<p>We and our 842 partners store and access information on your device, such as"
        " cookies, and process personal data like unique identifiers and standard"
        " information sent by a device for personalised ads and content.</p>"
        "<p>You may click to consent to our and our partners' processing as described above."
        " Alternatively you may manage your preferences, including your right to object"
        " where legitimate interest is used.</p>"
        "<button>Accept all cookies</button><button>Reject all</button>"
        "<button>Manage preferences</button></div></div>",
    ),
    "de": page(
        "Datenschutzeinstellungen",
        "<div class='sp_message_container_123' id='sp_message_container_123'>"
        "<h2>Wir verwenden Cookies</h2>"
        "<p>Wir und unsere 312 Partner speichern und verarbeiten personenbezogene Daten wie"
        " Cookies und Geräte-Kennungen. Mit Klick auf „Alle akzeptieren“ geben Sie Ihre"
        " Einwilligung; Ihre Einwilligung können Sie jederzeit in den"
        " Datenschutzeinstellungen widerrufen.</p>"
        "<p>Einige Partner verarbeiten Ihre Daten auf Grundlage eines berechtigten Interesses."
        " Sie können dem widersprechen oder ablehnen.</p>"
        "<button>Alle akzeptieren</button><button>Ablehnen</button></div>",
    ),
    "fr": page(
        "Gestion des cookies",
        "<div id='didomi-host'><div id='didomi-popup'>"
        "<h2>Nous utilisons des cookies</h2>"
        "<p>Avec votre consentement, nous et nos 204 partenaires utilisons des cookies ou"
        " technologies similaires pour stocker et accéder à des données personnelles comme"
        " votre visite sur ce site. Vous pouvez retirer votre consentement à tout moment.</p>"
        "<p>Certains partenaires ne demandent pas votre consentement et se fondent sur leur"
        " intérêt légitime. Vie privée : en savoir plus.</p>"
        "<button>Tout accepter</button><button>Tout refuser</button></div></div>",
    ),
    "es": page(
        "Tu privacidad",
        "<div id='qc-cmp2-container' class='qc-cmp2-container'>"
        "<h2>Valoramos tu privacidad</h2>"
        "<p>Nosotros y nuestros 800 socios usamos cookies para almacenar y acceder a datos"
        " personales, como los datos de navegación, con tu consentimiento o por interés"
        " legítimo. Puedes aceptar o rechazar el consentimiento en cualquier momento.</p>"
        "<button>Aceptar todo</button><button>Rechazar</button></div>",
    ),
    "it": page(
        "La tua privacy",
        "<div id='usercentrics-root'><h2>Questo sito utilizza cookie</h2>"
        "<p>Noi e i nostri partner utilizziamo cookie per memorizzare e accedere a dati"
        " personali sul tuo dispositivo. Con il tuo consenso, i partner trattano i dati"
        " personali per annunci personalizzati; alcuni partner si basano sul legittimo"
        " interesse. Puoi rifiutare o dare il consenso in ogni momento.</p>"
        "<button>Accetta tutto</button><button>Rifiuta</button></div>",
    ),
    "nl": page(
        "Cookie-instellingen",
        "<div class='cmp-container'><h2>Wij gebruiken cookies</h2>"
        "<p>Wij en onze partners gebruiken cookies om persoonsgegevens op uw apparaat op te"
        " slaan. Met uw toestemming verwerken onze partners uw persoonsgegevens; sommige"
        " partners doen dat op basis van gerechtvaardigd belang. Klik op akkoord of"
        " weigeren.</p><button>Alles accepteren</button><button>Weigeren</button></div>",
    ),
}

CHALLENGE = {
    "cloudflare": page(
        "Just a moment...",
        "<div class='main-wrapper'><h1>news.example</h1>"
        "<p>Checking if the site connection is secure</p>"
        "<p>news.example needs to review the security of your connection before"
        " proceeding.</p><noscript>Enable JavaScript and cookies to continue</noscript>"
        "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'></script>"
        "</div>",
        "<meta name='robots' content='noindex,nofollow'>",
    ),
    "akamai": page(
        "Access Denied",
        "<h1>Access Denied</h1>You don't have permission to access"
        ' "http://news.example/2024/story" on this server.<p>Reference'
        " #18.7e1f3e17.1700000000.1a2b3c4d</p>",
    ),
    "awswaf": page(
        "Human Verification",
        "<div id='captcha-container'></div><noscript>Please enable JavaScript.</noscript>"
        "<script>window.gokuProps = {};</script>"
        "<script src='https://a1b2.token.awswaf.com/a1b2/challenge.js'></script>",
    ),
    "datadome": page(
        "news.example",
        "<p>Please enable JS and disable any ad blocker</p>"
        "<script>var dd={'rt':'c','cid':'AHrlqAAAAAMA','hsh':'2211','host':'geo.captcha-"
        "delivery.com'}</script><script src='https://ct.captcha-delivery.com/c.js'></script>",
    ),
    "perimeterx": page(
        "Access to this page has been denied",
        "<h1>Press &amp; Hold to confirm you are a human (and not a bot).</h1>"
        "<div id='px-captcha'></div><p>Reference ID 0c9a8b7e-1111</p>",
    ),
    "noscript-de": page(
        "Zeit Online",
        "<noscript><p>Bitte aktivieren Sie JavaScript, um diese Seite zu sehen.</p></noscript>"
        "<div id='app'></div><script src='/app.js'></script>",
    ),
}

LOGIN = {
    "en": page(
        "Sign in",
        "<main><h1>Sign in to continue</h1><form action='/login' method='post'>"
        "<label>Email <input type='email' name='email'></label>"
        "<label>Password <input type='password' name='password'></label>"
        "<button>Log in</button><a href='/forgot'>Forgot your password?</a>"
        "<a href='/register'>Create an account</a></form></main>",
    ),
    "de": page(
        "Anmelden",
        "<main><h1>Bitte melden Sie sich an</h1><form action='/login' method='post'>"
        "<label>E-Mail <input type='email' name='email'></label>"
        "<label>Passwort <input type='password' name='pw'></label>"
        "<button>Anmelden</button><a href='/pw'>Passwort vergessen?</a></form></main>",
    ),
}

STORY_EN = [
    "The harbour authority approved four new berths on Tuesday, at a cost of 12.5 million"
    " euros. Work starts in June and should take 18 months, the authority said.",
    "“It is the largest investment in the port since 1998,” said director Mira Santos, who"
    " has led the authority since 2015 and oversaw the last expansion of the quays.",
    "Fishermen's groups welcomed the plan but asked for guarantees that the old slipway,"
    " used by small boats for a century, would stay open during the works.",
]
STORY_DE = [
    "Der Stadtrat hat am Dienstag den Bau einer neuen Brücke über den Fluss beschlossen."
    " Die Kosten von 40 Millionen Euro tragen Stadt und Land gemeinsam, hieß es.",
    "„Das ist die wichtigste Entscheidung dieser Wahlperiode“, sagte Bürgermeisterin Anna"
    " Keller nach der Sitzung. Die Bauarbeiten sollen im Frühjahr 2026 beginnen.",
    "Anwohner hatten jahrelang über den Verkehr auf der alten Brücke geklagt, die seit 1962"
    " steht und inzwischen nur noch einspurig befahren werden darf.",
]


def story_page(title: str, paragraphs: list[str], *, head: str = "", tail: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return page(title, f"<article><h1>{title}</h1>{body}{tail}</article>", head)


def ld(**fields: object) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", **fields}
    return f"<script type='application/ld+json'>{json.dumps(data)}</script>"


PAYWALLED = {
    # The page's own metadata: isAccessibleForFree "False" on a hasPart (Google's markup).
    "en-metadata": story_page(
        "Harbour gets new berths",
        STORY_EN,
        head=ld(
            headline="Harbour gets new berths",
            isAccessibleForFree="False",
            hasPart={
                "@type": "WebPageElement",
                "isAccessibleForFree": "False",
                "cssSelector": ".paywalled-content",
            },
        ),
        tail="<div class='paywalled-content'></div>",
    ),
    # The served text stops at a subscribe-to-continue notice.
    "de-marker": story_page(
        "Neue Brücke beschlossen",
        [*STORY_DE, "Sie möchten weiterlesen? Jetzt weiterlesen mit Z+ – nur für Abonnenten."],
    ),
}
