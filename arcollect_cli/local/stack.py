"""Running the local stack: the emulator, the resources, the triggers, and the endpoints users call.

Everything AWS would do between the resources happens here, in this process:
- S3 ``ObjectCreated`` under ``incoming/`` -> the ingest queue (moto delivers it) -> a poller that calls
  the ingest handler with a real SQS event and deletes only what the handler did not report as failed;
- the dunning work queue (a sweep's per-customer fan-out) -> the same kind of poller -> the dunning
  handler (Lambda's SQS event source mapping, with ReportBatchItemFailures, for both queues);
- the Lambda Invoke API for the four functions, so ``arcollect tick`` works the same against this stack
  and a deployed one (scheduled ticks are explicit invocations with a Scheduler event), and
  GetFunctionConfiguration, which shows the environment they run with;
- an HTTP server that turns requests into API Gateway REST proxy events for the portal handler;
- every email SES accepted, written to ``.local/outbox/`` as an ``.eml`` file.

The ports it listens on (the emulator's, the portal's, Lambda's) are taken when the stack is made,
before anything starts, and held until their servers serve on them: a busy one is refused with a line
naming its option (``PortUnavailable``), and no other program can take one in between.

One stack runs per folder: it holds a lock on ``.local/stack.lock`` from when it is made until it stops
(the system lets go of it when the process ends, however it ends), so a second stack made in the same
folder is refused with a line naming the first one's pid and ports (``StackRunning``) before it writes
anything over the first one's ``.local/`` (its ``outputs.json``, its outbox).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import functools
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3

from arcollect.contract import (
    METRICS_NAMESPACE,
    FunctionName,
    Output,
    TableSchema,
    dead_letter_queues_json,
)
from arcollect_cli.lambda_runtime import LambdaContext, load_handler
from arcollect_cli.local import metering
from arcollect_cli.local.apigateway import proxy_event, response_parts
from arcollect_cli.local.cognito import enforce_cognito_mfa, enroll_authenticator
from arcollect_cli.local.emulator import (
    emulator_application,
    enforce_s3_post_rules,
    enforce_ses_rules,
    patch_moto,
)
from arcollect_cli.local.sms import FakeSmsClient, sms_middleware
from arcollect_cli.local.spec import AUTHENTICATORS_FILE, REGION, LocalSpec, QueueSpec, grouped_secret
from arcollect_cli.local.transport import serve_in_process
from arcollect_cli.target import CliError

log = logging.getLogger("arcollect.local")

LOCAL_KEYS = "Local"
INVOKE_PREFIX = "/2015-03-31/functions/"


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# The ports the local stack listens on, by the name of their `arcollect local up` option (--NAME-port).
PORT_NAMES = ("aws", "portal", "lambda")
# How long the emulator may take to start serving on its port before `local up` gives up.
EMULATOR_START_SECONDS = 30.0


class PortUnavailable(CliError):
    """A port the local stack would listen on is in use (or not one it may listen on): said in one line
    naming the option, before anything starts."""


def listen_on(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (0: any free port), bound as the stack's servers bind
    (``SO_REUSEADDR``: a port a stopped stack's connections still linger on is free, one a program
    listens on is not)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def reserve_ports(host: str, wanted: dict[str, int]) -> dict[str, socket.socket]:
    """Listen on each port of ``wanted`` (by name: ``aws``, ``portal``, ``lambda``; 0 for any free
    one); all or none: on a port that cannot be had, what was taken is let go and PortUnavailable says
    which option and port, and what to do."""
    taken: dict[str, socket.socket] = {}
    try:
        for name, port in wanted.items():
            option = f"--{name}-port"
            if not 0 <= port <= 65535:
                raise PortUnavailable(
                    f"{option} {port}: a port is a number from 1 to 65535 (without {option}: any free port)"
                )
            same = next((other for other in taken if port and wanted[other] == port), None)
            if same is not None:
                raise PortUnavailable(f"{option} {port} is --{same}-port too: each needs a port of its own")
            try:
                taken[name] = listen_on(host, port)
            except OSError as error:
                raise PortUnavailable(_refusal(option, host, port, error, wanted)) from None
    except BaseException:
        for sock in taken.values():
            sock.close()
        raise
    return taken


def _refusal(option: str, host: str, port: int, error: OSError, wanted: dict[str, int]) -> str:
    """The one line for a port that cannot be listened on, with a free port to pass instead."""
    spare = _spare_port(host, max(port + 1, 1024), set(wanted.values()))
    example = f", e.g. {option} {spare}" if spare else ""
    instead = f"pass a free port{example} (without {option}: any free port)"
    if error.errno == errno.EADDRINUSE:
        stop = "stop it (Ctrl-C where it runs)"
        return f"{option} {port} is in use (another local stack?): {stop}, or {instead}"
    return f"{option} {port}: cannot listen on {host}:{port} ({error.strerror or error}): {instead}"


def port_in_use(option: str, host: str, port: int) -> PortUnavailable:
    """The refusal of a port some other program listens on (found after the check: the same line)."""
    busy = OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))
    return PortUnavailable(_refusal(option, host, port, busy, {}))


# Held by the stack running in a folder (``.local/stack.lock``), which writes its pid and ports into it.
LOCK_FILE = "stack.lock"


class StackRunning(CliError):
    """A local stack runs in this folder already: said in one line naming its pid and ports and how to
    stop it, before anything starts or is written."""


def _try_lock(handle: Any) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _running_stack(lock_file: Path, handle: Any) -> StackRunning:
    """The refusal for the stack holding ``lock_file``, named by what it wrote there."""
    try:
        handle.seek(0)
        holder = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    pid = holder.get("pid")
    ports = holder.get("ports") if isinstance(holder.get("ports"), dict) else {}
    given = " ".join(f"--{name}-port {ports[name]}" for name in PORT_NAMES if name in ports)
    which = ", ".join(part for part in (f"pid {pid}" if pid else "starting", given) if part)
    stop = f"Ctrl-C where it runs, or kill {pid}" if pid else "Ctrl-C where it runs"
    return StackRunning(
        f"a local stack already runs in {lock_file.parent.parent} ({which}): stop it ({stop}), or start "
        "this one from another folder (.local/outputs.json names one stack per folder)"
    )


def refuse_if_running(state_dir: Path) -> None:
    """StackRunning when a stack holds ``state_dir``'s lock; writes nothing. A lock file left by a stack
    that ended (however: Ctrl-C, a crash, kill -9) is held by no one and refuses nothing."""
    lock_file = state_dir / LOCK_FILE
    try:
        handle = lock_file.open("r")
    except FileNotFoundError:
        return
    with handle:
        if not _try_lock(handle):
            raise _running_stack(lock_file, handle)


def hold_folder(state_dir: Path, pid: int, ports: dict[str, int]) -> Any:
    """Take ``state_dir``'s lock for this process's stack and write its pid and ports into it; the open
    file, whose closing lets the lock go (as the process's end does). StackRunning when another holds
    it (a stack that started meanwhile)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock_file = state_dir / LOCK_FILE
    handle = lock_file.open("a+")
    try:
        if not _try_lock(handle):
            raise _running_stack(lock_file, handle)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": pid, "ports": ports}) + "\n")
        handle.flush()
    except BaseException:
        handle.close()
        raise
    return handle


def _spare_port(host: str, start: int, avoid: set[int]) -> int | None:
    """The first port from ``start`` (of the next hundred) nothing listens on, for the message."""
    for candidate in range(start, min(start + 100, 65536)):
        if candidate in avoid:
            continue
        try:
            listen_on(host, candidate).close()
        except OSError:
            continue
        return candidate
    return None


@dataclass
class Endpoints:
    aws: str
    portal: str
    lambda_api: str


class LocalStack:
    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        aws_port: int = 0,
        portal_port: int = 0,
        lambda_port: int = 0,
        spec: LocalSpec | None = None,
    ) -> None:
        self.root = root
        self.state_dir = root / ".local"
        self.outbox_dir = self.state_dir / "outbox"
        # Texts the local SMS service accepted, one JSON file each (moto has no SMS: local/sms.py).
        self.sms_outbox_dir = self.outbox_dir / "sms"
        self.sms = FakeSmsClient.local(self.sms_outbox_dir)
        self.host = host
        self.spec = spec or LocalSpec()
        # One stack per folder: a second one would write its outputs.json over the first one's.
        refuse_if_running(self.state_dir)
        # Checked and taken before anything starts; each is handed to its server in start().
        self._listening = reserve_ports(
            host, dict(zip(PORT_NAMES, (aws_port, portal_port, lambda_port), strict=True))
        )
        self._ports = tuple(int(self._listening[name].getsockname()[1]) for name in PORT_NAMES)
        try:
            self._folder_lock: Any = hold_folder(
                self.state_dir, os.getpid(), dict(zip(PORT_NAMES, self._ports, strict=True))
            )
        except BaseException:
            self.release_ports()
            raise
        self.endpoints = Endpoints(*(f"http://{host}:{port}" for port in self._ports))
        self._stop = threading.Event()
        self._invoke_lock = threading.Lock()
        self._authenticators_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._servers: list[ThreadingHTTPServer] = []
        self._outbox_seen = 0
        self.outputs: dict[str, Any] = {}
        # Each function's environment once started (on AWS: its configuration).
        self.function_environment: dict[str, dict[str, str]] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
        # The emulator's request log and Powertools' "no metrics" notice would drown the progress lines.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="No application metrics to publish")

        progress(f"starting the AWS emulator (moto) on {self.endpoints.aws}")
        self._moto = EmulatorServer(self._listening.pop("aws"))
        try:
            self._moto.start(EMULATOR_START_SECONDS)
        except BaseException:
            self.release_ports()
            self.release_folder()
            raise
        patch_moto()
        # Its SES refuses what SES refuses (tags, addresses, recipients, size, configuration set).
        self._stop_ses_rules = enforce_ses_rules()
        # Its S3 refuses a presigned POST S3 refuses (signature, expiry, size range, exact type, key).
        self._stop_s3_post_rules = enforce_s3_post_rules({"local": "local"})
        # Its user pools ask for MFA and check the codes as Cognito does (moto takes any code).
        self._stop_cognito_rules = enforce_cognito_mfa(record=self._record_authenticator)
        # AWS End User Messaging SMS, which moto lacks, answered by a strict stand-in on the same endpoint
        # (in-process and over the socket alike).
        self._moto.wrap(lambda app: sms_middleware(app, self.sms))
        self._stop_in_process = serve_in_process(
            self.endpoints.aws, sms_middleware(emulator_application(), self.sms)
        )
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoints.aws,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "POWERTOOLS_TRACE_DISABLED": "1",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        progress("creating the stack's resources")
        link_secret_arn, queue_urls = self._create_resources()
        staff_user_pool_id, staff_client_id = self._create_staff_directory()
        sqs = boto3.client("sqs")
        dead_letter_queues = dead_letter_queues_json(
            {
                name: sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                for name, queue in self.spec.dead_letter_queue_names.items()
            }
        )
        environment = self.spec.environment(
            table=self.spec.table_name,
            portal_url=self.endpoints.portal + "/",
            link_secret_arn=link_secret_arn,
            ingest_queue_url=queue_urls[FunctionName.INGEST],
            dunning_queue_url=queue_urls[FunctionName.DUNNING],
            staff_user_pool_id=staff_user_pool_id,
            staff_client_id=staff_client_id,
            dead_letter_queues=dead_letter_queues,
        )
        # One process hosts all four functions, so it carries the union of their environments; whatever
        # invokes them later (`arcollect tick`, a drop, the demo) reaches this process, so they keep it.
        for variables in environment.values():
            os.environ.update(variables)
        self.function_environment = environment
        # The outbox holds what this emulator's SES accepted: mail of an earlier run (whose emulator and
        # table are gone) would be counted as this run's.
        shutil.rmtree(self.outbox_dir, ignore_errors=True)
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        self.sms_outbox_dir.mkdir(parents=True, exist_ok=True)
        # What the functions print (Powertools' JSON logs, EMF metrics) goes where CloudWatch would have it.
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._function_log = (self.state_dir / "logs" / "functions.log").open("a", buffering=1)
        self._serve(self._listening.pop("portal"), _PortalRequestHandler)
        self._serve(self._listening.pop("lambda"), _InvokeRequestHandler)
        for function, queue_url in queue_urls.items():
            poller = QueuePoller(queue_url, functools.partial(self.invoke, function), self._stop)
            self._background(poller.run, name=f"local-poll-{function}")
        self._background(self._watch_outbox)
        self.outputs = {
            Output.TABLE_NAME: self.spec.table_name,
            Output.DROP_BUCKET: self.spec.drop_bucket,
            Output.REPORTS_BUCKET: self.spec.reports_bucket,
            Output.INGEST_QUEUE_URL: queue_urls[FunctionName.INGEST],
            Output.DUNNING_QUEUE_URL: queue_urls[FunctionName.DUNNING],
            Output.PORTAL_URL: self.endpoints.portal + "/",
            Output.SES_CONFIGURATION_SET: self.spec.configuration_set,
            Output.LINK_SECRET_ARN: link_secret_arn,
            Output.STAFF_USER_POOL_ID: staff_user_pool_id,
            Output.STAFF_CLIENT_ID: staff_client_id,
            Output.DEAD_LETTER_QUEUES: dead_letter_queues,
            **{key: self.spec.function_name(name) for key, name in _FUNCTION_OUTPUTS.items()},
            LOCAL_KEYS: {
                "AwsEndpoint": self.endpoints.aws,
                "LambdaEndpoint": self.endpoints.lambda_api,
                "Region": REGION,
                "Outbox": str(self.outbox_dir),
                "SmsOutbox": str(self.sms_outbox_dir),
                "FunctionLog": str(self.state_dir / "logs" / "functions.log"),
                # What each function's environment holds (on AWS: the function's configuration).
                "FunctionEnvironment": environment,
                "StaffConsole": self.endpoints.portal + "/staff",
                "Pid": os.getpid(),
            },
        }
        outputs_file = self.state_dir / "outputs.json"
        # Written whole, then renamed into place: a reader waiting for the file never sees half of it.
        partial = outputs_file.with_suffix(".json.partial")
        partial.write_text(json.dumps(self.outputs, indent=2) + "\n")
        partial.replace(outputs_file)
        progress(f"local stack ready: portal {self.endpoints.portal}/ outputs {outputs_file}")
        for line in self.staff_sign_in():
            progress(line)
        return self.outputs

    def staff_sign_in(self) -> list[str]:
        """How the demo staff sign in to the staff console (printed at start and by the demo)."""
        by_group: dict[str, list[str]] = {}
        for user in self.spec.demo_staff:
            by_group.setdefault(user.group, []).append(user.username)
        return [
            f"staff console {self.endpoints.portal}/staff: sign in with password "
            f"{self.spec.demo_staff_password!r} as",
            *(f"  {group}: {', '.join(users)}" for group, users in by_group.items()),
            "  then type the code `arcollect staff totp USER` prints (MFA is required; or add the key "
            f"{grouped_secret(self.spec.demo_staff_totp_secret)} to an authenticator app)",
        ]

    def _record_authenticator(self, username: str, secret: str) -> None:
        """Keep the secret of each authenticator the local pool accepted, for ``arcollect staff totp``
        (local only: on AWS the secret never leaves the user's authenticator app and Cognito)."""
        with self._authenticators_lock:
            path = self.state_dir / AUTHENTICATORS_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            known = json.loads(path.read_text()) if path.exists() else {}
            known[username.lower()] = secret
            partial = path.with_suffix(".partial")
            partial.write_text(json.dumps(known, indent=2) + "\n")
            partial.chmod(0o600)
            partial.replace(path)

    def release_ports(self) -> None:
        """Let go of the ports no server serves on yet (a stack made but not started, or one whose
        start failed)."""
        while self._listening:
            self._listening.popitem()[1].close()

    def release_folder(self) -> None:
        """Let go of the folder's lock (a stopped stack's, or one whose start failed): another stack may
        start here. Its pid and ports are cleared first, so none is named for a stack that stopped."""
        handle, self._folder_lock = self._folder_lock, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        handle.close()

    def stop(self) -> None:
        self._stop.set()
        self.release_ports()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._stop_in_process()
        self._stop_ses_rules()
        self._stop_s3_post_rules()
        self._stop_cognito_rules()
        self._moto.stop()
        self._function_log.close()
        outputs_file = self.state_dir / "outputs.json"
        if (
            outputs_file.exists()
            and json.loads(outputs_file.read_text()).get(LOCAL_KEYS, {}).get("Pid") == os.getpid()
        ):
            outputs_file.unlink()
        self.release_folder()

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stop.set()

    # -- resources -------------------------------------------------------------------------------

    def _create_resources(self) -> tuple[str, dict[str, str]]:
        """Create everything; returns the link secret's ARN and the URL of each function's queue."""
        spec = self.spec
        dynamodb = boto3.client("dynamodb")
        key_attributes = {TableSchema.PARTITION_KEY, TableSchema.SORT_KEY}
        for index in TableSchema.INDEXES:
            key_attributes |= {index.hash_key, index.range_key}
        dynamodb.create_table(
            TableName=spec.table_name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in sorted(key_attributes)
            ],
            KeySchema=[
                {"AttributeName": TableSchema.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": TableSchema.SORT_KEY, "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.hash_key, "KeyType": "HASH"},
                        {"AttributeName": index.range_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in TableSchema.INDEXES
            ],
        )
        dynamodb.update_time_to_live(
            TableName=spec.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TableSchema.TTL_ATTRIBUTE},
        )
        sqs = boto3.client("sqs")
        queue_urls = {
            function: create_queue(sqs, queue) for function, queue in spec.event_source_queues.items()
        }
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue_urls[FunctionName.INGEST], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        for name in spec.dead_letter_queues:
            sqs.create_queue(QueueName=name)
        s3 = boto3.client("s3")
        buckets = (spec.access_logs_bucket, spec.drop_bucket, spec.reports_bucket, spec.athena_results_bucket)
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket)
            if bucket != spec.access_logs_bucket:
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=spec.drop_bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "Id": f"arcollect-{prefix.strip('/')}",
                        "QueueArn": queue_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                    }
                    for prefix in spec.notification_prefixes
                ]
            },
        )
        sesv2 = boto3.client("sesv2")
        boto3.client("ses").verify_email_identity(EmailAddress=spec.sender_email)
        sesv2.create_configuration_set(ConfigurationSetName=spec.configuration_set)
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name=spec.link_secret_name, SecretString=secrets.token_urlsafe(48)
        )["ARN"]
        return str(secret_arn), queue_urls

    def _create_staff_directory(self) -> tuple[str, str]:
        """The staff user pool, its groups and app client, with the demo team in it; returns the pool's
        and the client's ids."""
        from arcollect_cli.local.spec import (
            staff_client_settings,
            staff_user_pool_mfa_settings,
            staff_user_pool_settings,
        )
        from arcollect_cli.staff import add_staff_user

        spec = self.spec
        cognito = boto3.client("cognito-idp")
        pool_id = str(
            cognito.create_user_pool(PoolName=spec.staff_user_pool, **staff_user_pool_settings())["UserPool"][
                "Id"
            ]
        )
        for group in spec.staff_groups:
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
        client_id = str(
            cognito.create_user_pool_client(
                UserPoolId=pool_id, ClientName=spec.staff_client, **staff_client_settings()
            )["UserPoolClient"]["ClientId"]
        )
        # As CloudFormation does for the template's EnabledMfas: MFA required, with an authenticator app.
        cognito.set_user_pool_mfa_config(UserPoolId=pool_id, **staff_user_pool_mfa_settings())
        (self.state_dir / AUTHENTICATORS_FILE).unlink(missing_ok=True)
        for user in spec.demo_staff:
            add_staff_user(
                cognito,
                pool_id,
                username=user.username,
                email=user.email,
                group=user.group,
                password=spec.demo_staff_password,
            )
            # The demo team has an authenticator already: password and `arcollect staff totp USER`.
            enroll_authenticator(pool_id, user.username, spec.demo_staff_totp_secret)
        return pool_id, client_id

    # -- invocation ------------------------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        """Run a handler as Lambda would; returns (result, error) where error is Lambda's error payload."""
        with self._invoke_lock, contextlib.redirect_stdout(self._function_log), metering.billed_to(function):
            started, logged = time.perf_counter(), self._logged_bytes()
            try:
                module = load_handler(function)
                result = module.lambda_handler(
                    event, LambdaContext(function_name=self.spec.function_name(function))
                )
                return result, None
            except Exception as error:
                trace = traceback.format_exception(error)
                print("".join(trace), end="")  # into the function log, as Lambda reports it to CloudWatch
                log.warning(
                    "function %s failed: %s: %s (details in %s)",
                    function,
                    type(error).__name__,
                    error,
                    self._function_log.name,
                )
                return None, {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": trace,
                }
            finally:
                if metering.METER is not None:
                    metering.METER.invoked(
                        function, time.perf_counter() - started, self._logged_bytes() - logged
                    )
                self._flush_outbox()

    def _logged_bytes(self) -> int:
        self._function_log.flush()
        return os.fstat(self._function_log.fileno()).st_size

    def function_for(self, name_or_arn: str) -> str | None:
        name = unquote(name_or_arn).rsplit(":function:", 1)[-1].split(":")[0]
        return next((f for f in FunctionName.ALL if self.spec.function_name(f) == name), None)

    # -- triggers --------------------------------------------------------------------------------

    def _watch_outbox(self) -> None:
        while not self._stop.wait(0.25):
            with self._invoke_lock:
                self._flush_outbox()

    def _flush_outbox(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        for message in sent[self._outbox_seen :]:
            raw = getattr(message, "raw_data", None)
            if raw is None:
                raw = f"From: {message.source}\nSubject: {message.subject}\n\n{message.body}\n"
            (self.outbox_dir / f"{message.id}.eml").write_text(raw)
        self._outbox_seen = len(sent)

    # -- servers ---------------------------------------------------------------------------------

    def _serve(self, listening: socket.socket, handler: type[BaseHTTPRequestHandler]) -> None:
        """Serve ``handler`` on the socket reserved for it (already bound and listening)."""
        host, port = listening.getsockname()[:2]
        server = ThreadingHTTPServer((host, port), handler, bind_and_activate=False)
        server.socket.close()
        server.socket = listening
        server.server_address = listening.getsockname()
        server.server_name, server.server_port = str(host), int(port)  # what server_bind would set
        server.daemon_threads = True
        server.stack = self  # type: ignore[attr-defined]
        self._servers.append(server)
        self._background(server.serve_forever)

    def _background(self, target: Callable[..., None], *args: Any, name: str | None = None) -> None:
        thread = threading.Thread(
            target=target, args=args, daemon=True, name=name or f"local-{target.__name__}"
        )
        thread.start()
        self._threads.append(thread)


class EmulatorServer:
    """The AWS emulator (moto's WSGI application, served as moto's ThreadedMotoServer serves it) in a
    thread, on the socket the stack reserved for it. Unlike ThreadedMotoServer.start(), which waits
    forever for a ready signal its thread never gives when the server cannot be made (werkzeug exits
    that thread on a busy port), start() says why it did not start, within ``timeout`` seconds."""

    def __init__(self, listening: socket.socket) -> None:
        self._listening = listening
        self._server: Any = None  # werkzeug's BaseWSGIServer once serving
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        host, port = self._listening.getsockname()[:2]
        application = DomainDispatcherApplication(create_backend_app)
        self._thread = threading.Thread(
            target=self._run, args=(application, MotoRequestHandler), daemon=True, name="local-aws-emulator"
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the AWS emulator did not start on {host}:{port} within {timeout:g} s")
        self._listening.close()  # the server listens on its own copy of the socket
        failure = self._failure
        # werkzeug reports a port it cannot listen on with sys.exit(1) (after printing why)
        busy = isinstance(failure, OSError) and failure.errno == errno.EADDRINUSE
        if busy or isinstance(failure, SystemExit):
            raise port_in_use("--aws-port", str(host), int(port)) from None
        if failure is not None:
            raise RuntimeError(f"the AWS emulator did not start on {host}:{port}: {failure}") from failure

    def _run(self, application: Any, handler: Any) -> None:
        from werkzeug.serving import make_server

        host, port = self._listening.getsockname()[:2]
        try:
            self._server = make_server(
                host, port, application, threaded=True, request_handler=handler, fd=self._listening.fileno()
            )
        except BaseException as error:
            self._failure = error
            return
        finally:
            self._ready.set()
        self._server.serve_forever()

    def wrap(self, middleware: Callable[[Any], Any]) -> None:
        """Put ``middleware`` around the application the server serves."""
        if self._server is not None:
            self._server.app = middleware(self._server.app)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)


_FUNCTION_OUTPUTS = {
    Output.INGEST_FUNCTION: FunctionName.INGEST,
    Output.DUNNING_FUNCTION: FunctionName.DUNNING,
    Output.PORTAL_FUNCTION: FunctionName.PORTAL,
    Output.REPORTS_FUNCTION: FunctionName.REPORTS,
}


def create_queue(sqs: Any, queue: QueueSpec) -> str:
    """Create a work queue and its dead-letter queue (redrive after ``max_receive_count`` receives)."""
    dlq_url = sqs.create_queue(QueueName=queue.dlq_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return str(
        sqs.create_queue(
            QueueName=queue.name,
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
                ),
            },
        )["QueueUrl"]
    )


Invoke = Callable[[dict[str, Any]], tuple[Any, dict[str, Any] | None]]


class QueuePoller:
    """Lambda's SQS event source mapping for one queue and one function, with ReportBatchItemFailures.

    A batch of up to 10 messages becomes one SQS event; when the invocation fails, the whole batch
    becomes visible again after the visibility timeout; otherwise every message is deleted except
    those the handler listed in ``batchItemFailures``, which are received again later, and moved to the
    dead-letter queue by the queue's redrive policy after ``maxReceiveCount`` receives.
    """

    def __init__(
        self, queue_url: str, invoke: Invoke, stop: threading.Event, *, sqs: Any | None = None
    ) -> None:
        self.queue_url = queue_url
        self._invoke = invoke
        self._stop = stop
        self._sqs = sqs
        self._queue_arn: str | None = None

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = boto3.client("sqs")
        return self._sqs

    @property
    def queue_arn(self) -> str:
        if self._queue_arn is None:
            self._queue_arn = str(
                self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"]
            )
        return self._queue_arn

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed", self.queue_url)
                time.sleep(1)

    def poll_once(self, wait_seconds: int = 1) -> int:
        """Receive one batch and hand it to the function; returns how many messages were received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [_sqs_record(m, self.queue_arn) for m in messages]}
        result, error = self._invoke(event)
        if error is not None:
            return len(messages)  # the whole batch becomes visible again after the visibility timeout
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        failed = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
        if not failed <= {m["MessageId"] for m in messages}:
            # Lambda treats a failure it cannot match to a message of the batch as a failed batch.
            log.warning("%s: batchItemFailures names unknown messages %s", self.queue_url, failed)
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received SQS message in the shape of a record of Lambda's SQS event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as ReceiveMessage returns it, in the camel case of Lambda's SQS event."""
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


class _StackRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def stack(self) -> LocalStack:
        return self.server.stack  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _PortalRequestHandler(_StackRequestHandler):
    """API Gateway in front of the portal function."""

    def _handle(self) -> None:
        event = proxy_event(
            self.command, self.path, self.headers.items(), self._body(), self.client_address[0]
        )
        result, error = self.stack.invoke(FunctionName.PORTAL, event)
        if error is not None or not isinstance(result, dict):
            # What API Gateway answers when the integration fails.
            self._reply(502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}')
            return
        self._reply(*response_parts(result))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _InvokeRequestHandler(_StackRequestHandler):
    """Lambda's Invoke API (``POST /2015-03-31/functions/{name}/invocations``) for the four functions,
    and GetFunctionConfiguration (``GET /2015-03-31/functions/{name}/configuration``)."""

    def _function(self, action: str) -> str | None:
        """The function a ``.../functions/{name}/{action}`` request names; None once answered 404."""
        path = self.path.split("?")[0]
        if not (path.startswith(INVOKE_PREFIX) and path.endswith(f"/{action}")):
            self._reply(404, [("Content-Type", "application/json")], b'{"message": "unknown route"}')
            return None
        function = self.stack.function_for(path[len(INVOKE_PREFIX) :].split("/")[0])
        if function is None:
            message = {"Type": "User", "message": "Function not found"}
            self._reply(
                404,
                [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ResourceNotFoundException")],
                json.dumps(message).encode(),
            )
        return function

    def do_GET(self) -> None:
        function = self._function("configuration")
        if function is None:
            return
        name = self.stack.spec.function_name(function)
        configuration = {
            "FunctionName": name,
            "FunctionArn": LambdaContext(function_name=name).invoked_function_arn,
            "Handler": "handler.lambda_handler",
            "Environment": {"Variables": self.stack.function_environment.get(function, {})},
            "State": "Active",
        }
        self._reply(200, [("Content-Type", "application/json")], json.dumps(configuration).encode())

    def do_POST(self) -> None:
        body = self._body()
        function = self._function("invocations")
        if function is None:
            return
        event = json.loads(body or b"{}")
        result, error = self.stack.invoke(function, event)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if error is not None:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        self._reply(200, headers, json.dumps(error if error is not None else result, default=str).encode())
