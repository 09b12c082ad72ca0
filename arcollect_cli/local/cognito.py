"""The local stack's staff user pool asks for MFA the way Cognito does when MFA is required.

moto 5 answers a pool with ``MfaConfiguration`` ON leniently, and a console tested against it would
pass with any code:

- USER_PASSWORD_AUTH signs a confirmed user without an authenticator straight in; Cognito answers
  MFA_SETUP.
- AssociateSoftwareToken hands every user the same secret, and VerifySoftwareToken and the
  SOFTWARE_TOKEN_MFA answer take any code (moto checks codes only with an environment variable, and
  then against that shared secret).
- RespondToAuthChallenge MFA_SETUP signs in without a verified authenticator, and challenge sessions
  never expire (Cognito's last 3 minutes) and may be answered for another user name.

While ``enforce_cognito_mfa`` is on, each user gets their own random secret, codes are checked for real
(RFC 6238: SHA-1, 6 digits, 30-second steps, one step either side), a wrong one is refused with the
error Cognito gives (CodeMismatchException; EnableSoftwareTokenMFAException when enrolling), and a
session that is unknown, expired or answered for another user is refused with NotAuthorizedException.
The secrets the pool accepted are passed to ``record`` (the local stack keeps them in
``.local/staff-totp.json`` for ``arcollect staff totp``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# Cognito accepts the code of the step before and after the current one (clock drift, typing time).
TOTP_WINDOW_STEPS = 1
CHALLENGE_SESSION_SECONDS = 3 * 60  # the pool's default AuthSessionValidity
MFAS_CAN_SETUP = '["SOFTWARE_TOKEN_MFA"]'  # Cognito sends the list as a JSON string
_CHALLENGES = frozenset({"NEW_PASSWORD_REQUIRED", "MFA_SETUP", "SOFTWARE_TOKEN_MFA"})
_SECRET = "_arcollect_totp_secret"  # noqa: S105 (an attribute name)
_PENDING = "_arcollect_totp_pending"

Record = Callable[[str, str], None]


def new_secret() -> str:
    """A random TOTP secret as Cognito hands them out: base32 without padding (52 characters)."""
    return base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=")


def totp(secret: str, at: float) -> str:
    """The RFC 6238 code of ``secret`` (base32) at time ``at`` (seconds since the epoch)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // TOTP_STEP_SECONDS)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**TOTP_DIGITS:0{TOTP_DIGITS}d}"


def totp_matches(secret: str, code: str, at: float) -> bool:
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return False
    steps = range(-TOTP_WINDOW_STEPS, TOTP_WINDOW_STEPS + 1)
    return any(hmac.compare_digest(totp(secret, at + step * TOTP_STEP_SECONDS), code) for step in steps)


def _now() -> float:
    return time.time()


class _Rules:
    """How many callers want the rules now, and who records the accepted secrets."""

    enforcing = 0
    records: ClassVar[list[Record]] = []
    lock = threading.Lock()


@dataclass
class _Sessions:
    """Per moto backend: when each challenge session was issued, and which VerifySoftwareToken gave."""

    issued: dict[str, float] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)


def _state(backend: Any) -> _Sessions:
    state: _Sessions | None = backend.__dict__.get("_arcollect_sessions")
    if state is None:
        state = backend.__dict__.setdefault("_arcollect_sessions", _Sessions())
    return state


def _issued(backend: Any, answer: dict[str, Any]) -> dict[str, Any]:
    if answer and answer.get("Session"):
        _state(backend).issued[str(answer["Session"])] = _now()
    return answer


def _errors() -> tuple[type[Exception], type[Exception], type[Exception]]:
    from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError
    from moto.core.exceptions import JsonRESTError

    class EnableSoftwareTokenMFAError(JsonRESTError):
        def __init__(self, message: str) -> None:
            super().__init__(error_type="EnableSoftwareTokenMFAException", message=message)

    return CodeMismatchException, NotAuthorizedError, EnableSoftwareTokenMFAError


def _session_user(backend: Any, session: str, username: str | None = None) -> Any:
    """The user a live challenge session belongs to; NotAuthorizedException as Cognito answers."""
    _, not_authorized, _ = _errors()
    state = _state(backend)
    if session not in backend.sessions:
        raise not_authorized("Invalid session for the user, session is expired.")
    if _now() - state.issued.get(session, _now()) > CHALLENGE_SESSION_SECONDS:
        del backend.sessions[session]
        raise not_authorized("Invalid session for the user, session is expired.")
    owner, pool = backend.sessions[session]
    user = pool._get_user(owner)
    if username and (user is None or pool._get_user(username) is not user):
        raise not_authorized("Invalid session for the user.")
    return user


def _install() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    if getattr(CognitoIdpBackend, "_arcollect_mfa_rules", False):
        return
    CognitoIdpBackend._arcollect_mfa_rules = True  # type: ignore[attr-defined]
    code_mismatch, _, enable_failed = _errors()
    initiate = CognitoIdpBackend.initiate_auth
    respond = CognitoIdpBackend.respond_to_auth_challenge
    associate = CognitoIdpBackend.associate_software_token
    verify = CognitoIdpBackend.verify_software_token

    def initiate_auth(self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]) -> Any:
        answer = initiate(self, client_id, auth_flow, auth_parameters)
        if not _Rules.enforcing:
            return answer
        if auth_flow == "USER_PASSWORD_AUTH" and "AuthenticationResult" in answer:
            pool = next(p for p in self.user_pools.values() if client_id in p.clients)
            user = pool._get_user(auth_parameters.get("USERNAME"))
            if pool.mfa_config == "ON" and not user.token_verified:
                session = secrets.token_urlsafe(48)
                self.sessions[session] = (user.username, pool)
                answer = {
                    "ChallengeName": "MFA_SETUP",
                    "ChallengeParameters": {"MFAS_CAN_SETUP": MFAS_CAN_SETUP},
                    "Session": session,
                }
        return _issued(self, answer)

    def respond_to_auth_challenge(
        self: Any, session: str, client_id: str, challenge_name: str, challenge_responses: dict[str, str]
    ) -> Any:
        if not _Rules.enforcing or challenge_name not in _CHALLENGES:
            return respond(self, session, client_id, challenge_name, challenge_responses)
        responses = challenge_responses or {}
        user = _session_user(self, session, responses.get("USERNAME"))
        if challenge_name == "SOFTWARE_TOKEN_MFA":
            secret = getattr(user, _SECRET, None)
            if not secret or not totp_matches(secret, responses.get("SOFTWARE_TOKEN_MFA_CODE") or "", _now()):
                raise code_mismatch("Invalid code received for user")
        if challenge_name == "MFA_SETUP" and session not in _state(self).verified:
            _, not_authorized, _ = _errors()
            raise not_authorized("Invalid session for the user.")
        answer = respond(self, session, client_id, challenge_name, challenge_responses)
        if challenge_name == "MFA_SETUP":
            self.sessions.pop(session, None)
            _state(self).verified.discard(session)
        return _issued(self, answer)

    def associate_software_token(self: Any, access_token: str, session: str) -> Any:
        if not _Rules.enforcing:
            return associate(self, access_token, session)
        user = _session_user(self, session) if session else None
        answer = dict(associate(self, access_token, session))
        if user is None:
            pool = next(p for p in self.user_pools.values() if access_token in p.access_tokens)
            user = pool._get_user(pool.access_tokens[access_token][1])
        secret = new_secret()
        setattr(user, _PENDING, secret)
        answer["SecretCode"] = secret
        return _issued(self, answer)

    def verify_software_token(
        self: Any, access_token: str, session: str, user_code: str, friendly_device_name: str
    ) -> Any:
        if not _Rules.enforcing:
            return verify(self, access_token, session, user_code, friendly_device_name)
        if session:
            user = _session_user(self, session)
        else:
            pool = next((p for p in self.user_pools.values() if access_token in p.access_tokens), None)
            user = pool._get_user(pool.access_tokens[access_token][1]) if pool else None
        pending = getattr(user, _PENDING, None)
        if user is None or not pending or not totp_matches(pending, user_code or "", _now()):
            raise enable_failed("Code mismatch and fail enable Software Token MFA")
        answer = verify(self, access_token, session, user_code, friendly_device_name)
        setattr(user, _SECRET, pending)
        delattr(user, _PENDING)
        user.software_token_mfa_enabled = True
        user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"
        if session:
            self.sessions.pop(session, None)
        _state(self).verified.add(str(answer["Session"]))
        for record in list(_Rules.records):
            record(user.username, pending)
        return _issued(self, answer)

    CognitoIdpBackend.initiate_auth = initiate_auth  # type: ignore[method-assign]
    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge  # type: ignore[method-assign]
    CognitoIdpBackend.associate_software_token = associate_software_token  # type: ignore[method-assign]
    CognitoIdpBackend.verify_software_token = verify_software_token  # type: ignore[method-assign]


def enforce_cognito_mfa(record: Record | None = None) -> Callable[[], None]:
    """Make moto's user pools ask for and check MFA as Cognito does (above) until the returned undo is
    called (each caller undoes its own; the rules hold while any caller still wants them)."""
    _install()
    with _Rules.lock:
        _Rules.enforcing += 1
        if record is not None:
            _Rules.records.append(record)
    undone = threading.Event()

    def undo() -> None:
        with _Rules.lock:
            if not undone.is_set():
                undone.set()
                _Rules.enforcing -= 1
                if record is not None:
                    _Rules.records.remove(record)

    return undo


def enroll_authenticator(user_pool_id: str, username: str, secret: str) -> None:
    """Give a user of a local pool an authenticator with ``secret`` (the local stack's demo team, so that
    they sign in with a code at once; on AWS only the user can enrol their own)."""
    from moto.cognitoidp.models import cognitoidp_backends

    for regions in cognitoidp_backends.values():
        for backend in regions.values():
            pool = backend.user_pools.get(user_pool_id)
            if pool is None:
                continue
            user = pool._get_user(username)
            setattr(user, _SECRET, secret)
            user.token_verified = True
            user.software_token_mfa_enabled = True
            user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"
            for record in list(_Rules.records):
                record(user.username, secret)
            return
    raise KeyError(user_pool_id)
