"""All configuration, read from the environment once, with safe defaults for the demo."""

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
DEMO_SECRET_KEY = "lendcrm-demo-secret-key-not-for-production"


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("LENDCRM_DEBUG", False)
PRODUCTION = env_bool("LENDCRM_PRODUCTION", False)
SECRET_KEY = os.environ.get("LENDCRM_SECRET_KEY", DEMO_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured("LENDCRM_SECRET_KEY must be set to a long random value in production.")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("LENDCRM_DEBUG must be off in production.")

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("LENDCRM_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]

INSTALLED_APPS = [
    "lendcrm.web",  # first, so its templates (admin branding, error pages) win
    "lendcrm.core.apps.LendcrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "js_lib_htmx",
    "lendcrm.core",
    "lendcrm.parties",
    "lendcrm.interactions",
    "lendcrm.pipeline",
    "lendcrm.origination",
    "lendcrm.servicing",
    "lendcrm.monitoring",
]

MIDDLEWARE = [
    "lendcrm.core.middleware.RequestIdMiddleware",
    "lendcrm.core.middleware.BodySizeLimitMiddleware",
    "lendcrm.core.throttles.AddressRateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "lendcrm.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lendcrm.web.middleware.SessionIdleTimeoutMiddleware",
    "lendcrm.web.middleware.WorkspaceLoginRequiredMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lendcrm.urls"
WSGI_APPLICATION = "lendcrm.wsgi.application"
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["lendcrm.core.auth.LockoutModelBackend"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "lendcrm.web.context_processors.workspace",
            ],
        },
    },
]

# --- database --------------------------------------------------------------------------------
DEFAULT_DATABASE_URL = f"sqlite:///{Path.cwd() / 'lendcrm.sqlite3'}"
DATABASE_URL = os.environ.get("LENDCRM_DATABASE_URL", DEFAULT_DATABASE_URL)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("LENDCRM_DB_CONN_MAX_AGE", 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL, synchronous and foreign keys are set per connection in core.db; IMMEDIATE transactions
    # take the write lock up front so concurrent writers wait (busy timeout) instead of failing.
    _db["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    _db["TEST"] = {
        "NAME": os.environ.get("LENDCRM_TEST_SQLITE_PATH", str(Path.cwd() / "test-lendcrm.sqlite3"))
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- passwords and login -----------------------------------------------------------------------
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LENDCRM_LOGIN_MAX_FAILURES = env_int("LENDCRM_LOGIN_MAX_FAILURES", 5)
LENDCRM_LOGIN_LOCKOUT_SECONDS = env_int("LENDCRM_LOGIN_LOCKOUT_SECONDS", 15 * 60)
# A session ends 8 hours after sign-in, or after an hour without a request, whichever comes first.
SESSION_COOKIE_AGE = env_int("LENDCRM_SESSION_SECONDS", 8 * 3600)
LENDCRM_SESSION_IDLE_SECONDS = env_int("LENDCRM_SESSION_IDLE_SECONDS", 3600)
LOGIN_URL = "ui:login"
LOGIN_REDIRECT_URL = "ui:home"
LOGOUT_REDIRECT_URL = "ui:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- security headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("LENDCRM_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Bodies larger than this are refused with 413 before they are read.
LENDCRM_MAX_BODY_BYTES = env_int("LENDCRM_MAX_BODY_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = LENDCRM_MAX_BODY_BYTES

# --- i18n ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["lendcrm.formats"]
TIME_ZONE = os.environ.get("LENDCRM_TIME_ZONE", "UTC")
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "lendcrm.web.views.csrf_failure"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served from the installed package by WhiteNoise's finders; collectstatic is optional.
STATIC_ROOT = os.environ.get("LENDCRM_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lendcrm"}}

# --- Post-loan: reviews, early-warning signals, watchlist (issue 5, oversight area) -----------------
# A party without a memo grade is reviewed as if it had this grade (mid-scale, on the cautious side).
LENDCRM_REVIEW_UNRATED_GRADE = env_int("LENDCRM_REVIEW_UNRATED_GRADE", 6)
# Falling revenue: annualised revenue down more than this share period on period (twice it: high).
LENDCRM_SIGNAL_REVENUE_DROP = Decimal(os.environ.get("LENDCRM_SIGNAL_REVENUE_DROP", "0.10"))
# Falling DSCR: down more than this share period on period (high when it is also below 1.00x).
LENDCRM_SIGNAL_DSCR_DROP = Decimal(os.environ.get("LENDCRM_SIGNAL_DSCR_DROP", "0.15"))
# Utilisation spike: drawn more than this many points of the limit within this many days.
LENDCRM_SIGNAL_UTILISATION_POINTS = Decimal(os.environ.get("LENDCRM_SIGNAL_UTILISATION_POINTS", "30"))
LENDCRM_SIGNAL_UTILISATION_DAYS = env_int("LENDCRM_SIGNAL_UTILISATION_DAYS", 30)
# A rating downgrade (classification or memo grade) stays a signal this many days.
LENDCRM_SIGNAL_DOWNGRADE_DAYS = env_int("LENDCRM_SIGNAL_DOWNGRADE_DAYS", 180)
# An open signal of at least this severity (3 = high) puts its party on the watchlist, to be reviewed
# within this many days.
LENDCRM_WATCH_MIN_SEVERITY = env_int("LENDCRM_WATCH_MIN_SEVERITY", 3)
LENDCRM_WATCH_REVIEW_DAYS = env_int("LENDCRM_WATCH_REVIEW_DAYS", 90)

# --- Post-loan: covenants and project finance (issue 5, covenants area) ------------------------------
# A covenant breach opens a task for the facility's monitoring officer (or the party's lead RM) due this
# many days after the test; a new project's distribution lock-up and event-of-default DSCR thresholds
# (DOMAIN.md: lock-up at 1.10-1.15x, default below 1.05x) unless its term sheet says otherwise.
LENDCRM_COVENANT_ACTION_DAYS = env_int("LENDCRM_COVENANT_ACTION_DAYS", 14)
LENDCRM_PROJECT_LOCKUP_DSCR = Decimal(os.environ.get("LENDCRM_PROJECT_LOCKUP_DSCR", "1.10"))
LENDCRM_PROJECT_DEFAULT_DSCR = Decimal(os.environ.get("LENDCRM_PROJECT_DEFAULT_DSCR", "1.05"))

# --- Post-loan: schedules (issue 5, schedules area) -----------------------------------------------
# Bank holidays on top of Saturdays and Sundays for the schedules' business-day rules: comma-separated
# ISO dates, e.g. LENDCRM_HOLIDAYS=2027-01-01,2027-02-11.
try:
    LENDCRM_HOLIDAYS = frozenset(
        date.fromisoformat(day.strip())
        for day in os.environ.get("LENDCRM_HOLIDAYS", "").split(",")
        if day.strip()
    )
except ValueError as exc:
    raise ImproperlyConfigured("LENDCRM_HOLIDAYS must be comma-separated ISO dates (YYYY-MM-DD).") from exc

# --- API ---------------------------------------------------------------------------------------
LENDCRM_MAX_PAGE_SIZE = env_int("LENDCRM_MAX_PAGE_SIZE", 200)
LENDCRM_MAX_BATCH = 1000
# Exposure is summed in one currency; other currencies convert at these rates (units of base per unit).
LENDCRM_BASE_CURRENCY = os.environ.get("LENDCRM_BASE_CURRENCY", "CNY")
LENDCRM_FX_TO_BASE = {
    "CNY": "1",
    "USD": "7.10",
    "EUR": "7.70",
    "HKD": "0.91",
    "GBP": "9.00",
    "JPY": "0.048",
    "SGD": "5.30",
}
LENDCRM_RATE_PER_CLIENT = os.environ.get("LENDCRM_RATE_PER_CLIENT", "1200/min")
LENDCRM_RATE_PER_ADDRESS = os.environ.get("LENDCRM_RATE_PER_ADDRESS", "3000/min")

# --- Post-loan: classification (issue 5, classification area; DOMAIN.md defaults) --------------------
# Days past due beyond which a facility is at least substandard / doubtful / loss (any overdue: special
# mention); IFRS 9 stage 2 and 3 presumptions; the restructured observation period (at least a year); the
# share of a non-retail debtor's outstanding claims that, once non-performing, makes all of them so.
LENDCRM_CLASSIFICATION_SUBSTANDARD_DPD = env_int("LENDCRM_CLASSIFICATION_SUBSTANDARD_DPD", 90)
LENDCRM_CLASSIFICATION_DOUBTFUL_DPD = env_int("LENDCRM_CLASSIFICATION_DOUBTFUL_DPD", 270)
LENDCRM_CLASSIFICATION_LOSS_DPD = env_int("LENDCRM_CLASSIFICATION_LOSS_DPD", 360)
LENDCRM_STAGE_TWO_DPD = env_int("LENDCRM_STAGE_TWO_DPD", 30)
LENDCRM_STAGE_THREE_DPD = env_int("LENDCRM_STAGE_THREE_DPD", 90)
LENDCRM_RESTRUCTURED_OBSERVATION_MONTHS = max(12, env_int("LENDCRM_RESTRUCTURED_OBSERVATION_MONTHS", 12))
LENDCRM_CONTAGION_SHARE = Decimal(os.environ.get("LENDCRM_CONTAGION_SHARE", "0.10"))

# --- Post-loan: booking and drawdowns (issue 5, book area) -----------------------------------------
# The day count a facility is booked with unless loan operations chooses another (CNY loans: ACT/360),
# and the availability period of a term loan booked without one (drawdowns up to N months after start).
LENDCRM_DEFAULT_DAY_COUNT = os.environ.get("LENDCRM_DEFAULT_DAY_COUNT", "act_360")
LENDCRM_AVAILABILITY_MONTHS = env_int("LENDCRM_AVAILABILITY_MONTHS", 3)
# --- Post-loan: repayments (issue 5, repayments area) ----------------------------------------------
# The order a repayment settles each due instalment's parts in, unless the facility names its own; the
# prepayment fee in percent of the principal repaid early (0: none; the bank's tariff may set one).
LENDCRM_REPAYMENT_ORDER = os.environ.get("LENDCRM_REPAYMENT_ORDER", "fees,interest,principal")
LENDCRM_PREPAYMENT_FEE_PCT = Decimal(os.environ.get("LENDCRM_PREPAYMENT_FEE_PCT", "0"))
# Rows a core-banking repayment file may hold (larger files are split by the sender).
LENDCRM_REPAYMENT_IMPORT_MAX_ROWS = env_int("LENDCRM_REPAYMENT_IMPORT_MAX_ROWS", 5000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lendcrm.core.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "lendcrm.core.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lendcrm.core.api.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["lendcrm.core.throttles.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "lendcrm API",
    "DESCRIPTION": "Customer master, interactions and tasks for lenders.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {
        "PartyKindEnum": "lendcrm.parties.models.PartyKind",
        "RelationshipKindEnum": "lendcrm.parties.models.RelationshipKind",
        "ContactPointKindEnum": "lendcrm.parties.models.ContactPointKind",
        "ContactRoleKindEnum": "lendcrm.parties.models.ContactRoleKind",
        "TaskKindEnum": "lendcrm.interactions.models.TaskKind",
        "InteractionDirectionEnum": "lendcrm.interactions.models.Direction",
        "ChannelEnum": "lendcrm.interactions.models.Channel",
        "ApplicationStatusEnum": "lendcrm.origination.models.Status",
        "ChecklistStatusEnum": "lendcrm.origination.models.ChecklistStatus",
        "OfferStatusEnum": "lendcrm.origination.models.OfferStatus",
        "MatrixStatusEnum": "lendcrm.origination.models.MatrixStatus",
        "ConditionStatusEnum": "lendcrm.origination.models.ConditionStatus",
        "CovenantKindEnum": "lendcrm.monitoring.models.CovenantKind",
        "CovenantTestStatusEnum": "lendcrm.monitoring.models.TestStatus",
        "StatementKindEnum": "lendcrm.origination.models.StatementKind",
        "LeadStatusEnum": "lendcrm.pipeline.models.LeadStatus",
        "ProposalStatusEnum": "lendcrm.pipeline.models.ProposalStatus",
        "DisqualificationReasonEnum": "lendcrm.pipeline.models.DisqualificationReason",
        "TaskStatusEnum": "lendcrm.interactions.models.TaskStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lendcrm.core.schema.problem_responses_hook",
    ],
}

# --- logging: structured, one JSON object a line, never secrets or personal data ---------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lendcrm.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "lendcrm.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LENDCRM_LOG_LEVEL", "INFO")},
    # WeasyPrint narrates each step of a PDF at INFO; its warnings (a refused URL, a missing font) still show.
    "loggers": {"django.server": {"level": "WARNING"}, "weasyprint.progress": {"level": "WARNING"}},
}
