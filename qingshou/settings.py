"""The one settings module. Everything that differs between machines comes from the environment.

Defaults are the embedded set-up: SQLite under var/, no broker, DEBUG off.
See README "Configuration" for every variable.
"""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from qingshou.envconf import env_bool, env_choice, env_int, env_keyring, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("QINGSHOU_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("QINGSHOU_SECRET_KEY", generate_into=VAR_DIR / "secret_key")
# PII at rest (qingshou/core/crypto.py). A keyring QINGSHOU_FIELD_KEYS="id1:secret1,id2:secret2" (or
# QINGSHOU_FIELD_KEYS_FILE): the first encrypts, all decrypt. Without it, the one key QINGSHOU_FIELD_KEY
# (or _FILE; generated into var/field_key in the embedded set-up). QINGSHOU_FIELD_HASH_KEY (or _FILE),
# optional, fixes the lookup-hash key; by default it is derived from each encryption key.
FIELD_ENCRYPTION_KEYS = env_keyring("QINGSHOU_FIELD_KEYS")
FIELD_ENCRYPTION_KEY = (FIELD_ENCRYPTION_KEYS[0] if FIELD_ENCRYPTION_KEYS
                        else env_secret("QINGSHOU_FIELD_KEY", generate_into=VAR_DIR / "field_key"))
FIELD_HASH_KEY = env_secret("QINGSHOU_FIELD_HASH_KEY", optional=True)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_tasks_db",
    "ninja",  # serves Swagger UI's assets for /api/v1/docs locally (else ninja would use a CDN)
    "qingshou.core",
    "qingshou.org",
    "qingshou.portfolio",
    "qingshou.contact",
    "qingshou.payments",
    "qingshou.arrangements",
    "qingshou.compliance",
    "qingshou.strategy",
    "qingshou.propensity",
    "qingshou.simulation",
    "qingshou.reports",
    "qingshou.messaging",
    "qingshou.letters",
    "qingshou.selfservice",
    "qingshou.telephony",
    "qingshou.skiptrace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "qingshou.core.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "qingshou.urls"
WSGI_APPLICATION = "qingshou.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "qingshou" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
DB = env_choice("DB", "sqlite", ("sqlite", "postgres"))
DATABASE_URL = env_str("DATABASE_URL")
# Persistent connections for PostgreSQL; the test runner sets 0 so no thread keeps one open.
CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE)}
elif DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str("PGDATABASE", "qingshou"),
            "USER": env_str("PGUSER", "postgres"),
            "PASSWORD": env_str("PGPASSWORD"),
            "HOST": env_str("PGHOST", "127.0.0.1"),
            "PORT": env_int("PGPORT", 5432, minimum=1, maximum=65535),
            "CONN_MAX_AGE": CONN_MAX_AGE,
            "TEST": {"NAME": env_str("PGTESTDATABASE", "test_qingshou")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": Path(env_str("SQLITE_PATH", str(VAR_DIR / "qingshou.sqlite3"))),
            "OPTIONS": {
                # Writers take the lock at BEGIN instead of failing mid-transaction on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if env_bool("QINGSHOU_FAST_HASHER", False):  # test runs only
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "qingshou" / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

# --- static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "qingshou" / "static"]  # project-wide assets (qingshou/static/qingshou/)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# --- background work ------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# A task still RUNNING this long after it started is presumed orphaned by a killed worker.
TASK_STALE_AFTER_SECONDS = env_int("TASK_STALE_AFTER_SECONDS", 900, minimum=30)
TASK_MAX_ATTEMPTS = env_int("TASK_MAX_ATTEMPTS", 5, minimum=1, maximum=50)
TASK_RETRY_BASE_SECONDS = env_int("TASK_RETRY_BASE_SECONDS", 10, minimum=1)
TASK_RETRY_MAX_SECONDS = env_int("TASK_RETRY_MAX_SECONDS", 3600, minimum=1)
SCHEDULER_INTERVAL_SECONDS = env_int("SCHEDULER_INTERVAL_SECONDS", 30, minimum=1)

# --- business defaults (policy data lives in the database; these are process-level knobs) ----
CASE_LOCK_MINUTES = env_int("CASE_LOCK_MINUTES", 10, minimum=1, maximum=240)
PROMISE_GRACE_DAYS = env_int("PROMISE_GRACE_DAYS", 1, minimum=0, maximum=30)
FIRST_CALL_DAYS = env_int("FIRST_CALL_DAYS", 2, minimum=1, maximum=30)
# --- placement import (qingshou.portfolio.intake; README "Case intake") ----------------------------------------
# Files of at least this many rows are read, validated and encrypted in a second process while this one writes.
INTAKE_WORKER_MIN_ROWS = env_int("INTAKE_WORKER_MIN_ROWS", 20_000, minimum=0, maximum=10**9)
# --- strategy and assignment (qingshou.strategy; README "Strategy and assignment") -------------------
STRATEGY_ASSIGNMENT_MODE = env_choice("STRATEGY_ASSIGNMENT_MODE", "capacity",
                                      ("round_robin", "capacity", "region", "skill", "sticky"))
STRATEGY_LARGE_BALANCE = env_int("STRATEGY_LARGE_BALANCE", 50000, minimum=0)   # yuan; goes to senior collectors
STRATEGY_DEFAULT_CAPACITY = env_int("STRATEGY_DEFAULT_CAPACITY", 300, minimum=1)  # open cases, without a profile
STRATEGY_SENIOR_YEARS = env_int("STRATEGY_SENIOR_YEARS", 3, minimum=0)
STRATEGY_NIGHTLY_HOUR = env_int("STRATEGY_NIGHTLY_HOUR", 2, minimum=0, maximum=23)   # local time of the nightly run
STRATEGY_NIGHTLY_WINDOW_HOURS = env_int("STRATEGY_NIGHTLY_WINDOW_HOURS", 4, minimum=1, maximum=24)
STRATEGY_INCREMENTAL = env_bool("STRATEGY_INCREMENTAL", True)  # re-evaluate a case on payment/promise/hold/phone
STRATEGY_RUN_PROCESSES = env_int("STRATEGY_RUN_PROCESSES", 1, minimum=1, maximum=16)  # PostgreSQL full runs: forks
# --- skip tracing (qingshou.skiptrace; README "Skip tracing") ---------------------------------------
# A phone counts as unanswered after this many call attempts in a row without anyone answering; a case whose
# every phone is invalid, wrong or unanswered becomes lost-contact (失联).
SKIPTRACE_UNANSWERED_ATTEMPTS = env_int("SKIPTRACE_UNANSWERED_ATTEMPTS", 6, minimum=1, maximum=100)
DEMO_PASSWORD = env_str("QINGSHOU_DEMO_PASSWORD", "qingshou-demo")

# --- SMS (qingshou.messaging; see README "Channels: templates and SMS") ------------------------
# "console": JSON lines to var/sms/outbox.jsonl (embedded default); "http": the signed gateway contract.
SMS_BACKEND = env_str("SMS_BACKEND", "console")
SMS_OUTBOX = Path(env_str("SMS_OUTBOX", str(VAR_DIR / "sms" / "outbox.jsonl")))
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_APP_ID = env_str("SMS_APP_ID", "qingshou")
SMS_APP_SECRET = env_str("SMS_APP_SECRET", "")
SMS_SIGN_NAME = env_str("SMS_SIGN_NAME", "")
SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
SMS_SIGNATURE_MAX_SKEW_SECONDS = env_int("SMS_SIGNATURE_MAX_SKEW_SECONDS", 300, minimum=10)
SMS_AGENCY_NAME = env_str("SMS_AGENCY_NAME", "清收")
SMS_HOTLINE = env_str("SMS_HOTLINE", "400-000-0000")

# --- letters and debtor self-service (qingshou.letters, qingshou.selfservice; README "Letters and debtor
# self-service") ---------------------------------------------------------------------------------
SELFSERVICE_LINK_DAYS = env_int("SELFSERVICE_LINK_DAYS", 7, minimum=1, maximum=90)        # a link's lifetime
SELFSERVICE_MAX_ATTEMPTS = env_int("SELFSERVICE_MAX_ATTEMPTS", 5, minimum=1, maximum=50)  # failures per link
SELFSERVICE_IP_MAX_ATTEMPTS = env_int("SELFSERVICE_IP_MAX_ATTEMPTS", 20, minimum=1)       # failures per IP per hour
SELFSERVICE_LOCK_MINUTES = env_int("SELFSERVICE_LOCK_MINUTES", 30, minimum=1, maximum=1440)
SELFSERVICE_SESSION_MINUTES = env_int("SELFSERVICE_SESSION_MINUTES", 30, minimum=5, maximum=240)
SELFSERVICE_BASE_URL = env_str("SELFSERVICE_BASE_URL", "")  # e.g. https://pay.example.cn; blank: the request's host
SELFSERVICE_SMS_TEMPLATE = env_str("SELFSERVICE_SMS_TEMPLATE", "selfservice")  # SMS template code with {link}
LETTER_SENDER_ADDRESS = env_str("LETTER_SENDER_ADDRESS", "")

# --- telephony (qingshou.telephony; README "Channels: dialer, recordings and voice reminders") -----------
# "console": calls complete themselves after TELEPHONY_CONSOLE_DELAY_SECONDS with a fake result and a synthetic
# WAV recording (embedded default); "http": the signed CTI-gateway contract (originate + result callback).
TELEPHONY_BACKEND = env_choice("TELEPHONY_BACKEND", "console", ("console", "http"))
TELEPHONY_GATEWAY_URL = env_str("TELEPHONY_GATEWAY_URL", "")
TELEPHONY_APP_ID = env_str("TELEPHONY_APP_ID", "qingshou")
TELEPHONY_APP_SECRET = env_str("TELEPHONY_APP_SECRET", "")
TELEPHONY_TIMEOUT_SECONDS = env_int("TELEPHONY_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
TELEPHONY_SIGNATURE_MAX_SKEW_SECONDS = env_int("TELEPHONY_SIGNATURE_MAX_SKEW_SECONDS", 300, minimum=10)
TELEPHONY_CALLBACK_BASE_URL = env_str("TELEPHONY_CALLBACK_BASE_URL", "")  # e.g. https://qs.example.cn; blank: request
TELEPHONY_CONSOLE_DELAY_SECONDS = env_int("TELEPHONY_CONSOLE_DELAY_SECONDS", 3, minimum=0, maximum=600)
# The gateway plays the agency's recorded opening (报机构名称) before connecting: this states the institution
# on a first call (compliance rule "institution"). Set False if your dialer does not announce.
TELEPHONY_ANNOUNCES_INSTITUTION = env_bool("TELEPHONY_ANNOUNCES_INSTITUTION", True)
TELEPHONY_EXTENSION_BASE = env_int("TELEPHONY_EXTENSION_BASE", 8000, minimum=0)  # agent extension = base + user id
# Recordings: a STORAGES alias (add an S3 alias with django-storages in production) and the retention period.
RECORDINGS_STORAGE = env_str("RECORDINGS_STORAGE", "recordings")
STORAGES.setdefault("recordings", {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                   "OPTIONS": {"location": str(VAR_DIR / "recordings")}})
RECORDING_RETENTION_DAYS = env_int("RECORDING_RETENTION_DAYS", 730, minimum=730)   # CN: at least 2 years
RECORDING_MAX_BYTES = env_int("RECORDING_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

QINGSHOU_TITLE = _("qingshou collection platform")
