"""cdk-nag (AwsSolutions) acknowledgments: each on the narrowest construct, each with its reason.

cdk-nag v3 runs as a CDK policy-validation plugin, so a finding that is neither fixed nor acknowledged
here fails ``cdk synth`` (and the infra tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from arcollect.changes import CHANGES_PREFIX, DAILY_PREFIX
from arcollect.contract import DropPrefix
from arcollect.credit_control import AGENCY_PREFIX

if TYPE_CHECKING:
    from infra.stack import ArcollectStack

PACK = "AwsSolutions::AwsSolutions"
BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}-{rule}", reason=reason))


def _arn_of(construct: IConstruct) -> str:
    """How cdk-nag spells a resource's ARN in a finding: ``<LogicalId.Arn>``."""
    default_child = construct.node.default_child
    assert isinstance(default_child, CfnResource)
    return f"<{Stack.of(construct).get_logical_id(default_child)}.Arn>"


def _function_policy(function: lambda_.Function) -> IConstruct:
    role = function.role
    assert isinstance(role, iam.Role)
    return role.node.find_child("DefaultPolicy")


def acknowledge_findings(stack: ArcollectStack) -> None:
    table_indexes = f"Resource::{_arn_of(stack.data.table)}/index/*"
    functions = {
        "ingest": stack.ingest.function,
        "dunning": stack.dunning.function,
        "portal": stack.portal.function,
        "reports": stack.reports.function,
    }
    for function in functions.values():
        assert function.role is not None
        _ack(
            function.role,
            f"IAM4[{BASIC_EXECUTION_ROLE}]",
            "AWSLambdaBasicExecutionRole allows only creating log streams and putting log events",
        )
        policy = _function_policy(function)
        _ack(
            policy,
            "IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords accept no resource narrower than *",
        )
        _ack(
            policy,
            f"IAM5[{table_indexes}]",
            "The grant covers the table's own GSIs (by_next_action, worklist, by_credit), which the "
            "function queries",
        )

    # S3 grants from Bucket.grant_read/grant_put: CDK's action groups, scoped to our buckets.
    s3_read = ("GetObject*", "GetBucket*", "List*")
    drop = _arn_of(stack.data.drop_bucket)
    ingest_policy = _function_policy(stack.ingest.function)
    for action in (*s3_read, "Abort*"):
        _ack(
            ingest_policy,
            f"IAM5[Action::s3:{action}]",
            "Reads incoming/, config/mappings/ and work/ (any version) and writes results/, rejected/ "
            "and work/ in the drop bucket only",
        )
    for prefix, why in (
        ("incoming/*", "Dropped files arrive under any key the ERP chooses below incoming/"),
        ("config/mappings/*", "A file under incoming/<kind>/<mapping>/ reads its named mapping"),
        ("work/*", "A large file's chunks write and read their part results under work/"),
        ("results/*", "Each file's results document, named after the file"),
        ("rejected/*", "Each file's rejected rows, named after the file"),
        ("inbox/*", "Customers' replies, one object per message, named by SES's message id"),
        ("attachments/replies/*", "A filed reply's attachments, one prefix per customer and reply"),
    ):
        _ack(ingest_policy, f"IAM5[Resource::{drop}/{prefix}]", why)

    portal_policy = _function_policy(stack.portal.function)
    for action in (*s3_read, "Abort*"):
        _ack(
            portal_policy,
            f"IAM5[Action::s3:{action}]",
            "Presigned reads of invoice documents and KPI reports, presigned uploads of dispute attachments "
            "and the check of each upload before it is linked",
        )
    _ack(
        portal_policy,
        f"IAM5[Resource::{_arn_of(stack.data.reports_bucket)}/kpi/*]",
        "Managers download the KPI reports, written under kpi/<as-of date>/ by the reports function",
    )
    _ack(
        portal_policy,
        f"IAM5[Resource::{drop}/incoming/documents/*]",
        "Invoice documents the ERP dropped, one object per customer and invoice number",
    )
    _ack(
        portal_policy,
        f"IAM5[Resource::{drop}/attachments/pending/*]",
        "Dispute attachments customers upload by presigned POST, one key per dispute: checked (read), "
        "then moved to attachments/disputes/ or deleted",
    )
    _ack(
        portal_policy,
        f"IAM5[Resource::{drop}/attachments/disputes/*]",
        "Checked dispute attachments, moved here from attachments/pending/, one prefix per dispute",
    )
    _ack(
        portal_policy,
        f"IAM5[Resource::{drop}/attachments/replies/*]",
        "Collectors open a filed reply's attachments from the 360 (presigned), one prefix per reply",
    )
    _ack(
        portal_policy,
        "IAM5[Action::s3:DeleteObject*]",
        "Deletes an unchecked dispute upload (attachments/pending/ only) once moved or refused",
    )

    _ack(
        portal_policy,
        f"IAM5[Resource::{drop}/{CHANGES_PREFIX}*]",
        "The ERP change feed: one object per decision, keyed by day and change id",
    )
    _ack(
        portal_policy,
        f"IAM5[Resource::{drop}/{AGENCY_PREFIX}*]",
        "An agency placement's hand-off (invoices, contacts, history, manifest), one prefix per placement",
    )

    dunning_policy = _function_policy(stack.dunning.function)
    for action in s3_read:
        _ack(
            dunning_policy,
            f"IAM5[Action::s3:{action}]",
            "Reads the one uploaded dunning policy object (config/dunning-policy.yaml); the bucket-level "
            "List lets a missing override answer NoSuchKey rather than AccessDenied",
        )
    _ack(
        dunning_policy,
        "IAM5[Action::s3:Abort*]",
        "Aborts its own unfinished uploads of change feed objects (outgoing/changes/ of the drop bucket)",
    )
    _ack(
        dunning_policy,
        f"IAM5[Resource::{drop}/{CHANGES_PREFIX}*]",
        "The ERP change feed: one object per promise settled or address bounced, keyed by day and change id",
    )
    _ack(
        dunning_policy,
        f"IAM5[Resource::{drop}/{DropPrefix.LETTERS}*]",
        "Dunning letters for the print-and-mail service, outgoing/letters/<day>/<letter id>.pdf and .json; "
        "a retried run reads a letter's manifest back to tell whether it was handed over",
    )

    reports_policy = _function_policy(stack.reports.function)
    for action in s3_read:
        _ack(
            reports_policy,
            f"IAM5[Action::s3:{action}]",
            "Reads earlier runs in the reports bucket and, of the drop bucket, only the uploaded dunning "
            "policy object (config/dunning-policy.yaml: the team that gets the weekly summary); the "
            "bucket-level List lets a missing object answer NoSuchKey rather than AccessDenied",
        )
    _ack(
        reports_policy,
        "IAM5[Action::s3:Abort*]",
        "Aborts its own unfinished multipart uploads of report files (reports bucket) and of the change "
        "feed's daily files (outgoing/daily/ of the drop bucket)",
    )
    _ack(
        reports_policy,
        f"IAM5[Resource::{_arn_of(stack.data.reports_bucket)}/*]",
        "Reports are written under kpi/<as-of date>/ and latest/, keys known only at run time",
    )
    _ack(
        reports_policy,
        f"IAM5[Resource::{drop}/{DAILY_PREFIX}*]",
        "The ERP change feed's daily files, outgoing/daily/<day>.csv, .jsonl and <day>/<kind>.csv",
    )

    # Roles that CDK creates on our behalf.
    for child in stack.node.children:
        if child.node.id.startswith("SchedulerRoleForTarget"):
            policy = child.node.find_child("DefaultPolicy")
            for function in (stack.dunning.function, stack.reports.function):
                _ack(
                    policy,
                    f"IAM5[Resource::{_arn_of(function)}:*]",
                    "Scheduler may invoke any version of the scheduled function (CDK's LambdaInvoke grant)",
                )
        if child.node.id.startswith("BucketNotificationsHandler"):
            _ack(
                child.node.find_child("Role"),
                f"IAM4[{BASIC_EXECUTION_ROLE}]",
                "CDK's bucket-notification custom resource only logs with this managed policy",
            )

    api = stack.portal.api
    _ack(
        api.node.find_child("CloudWatchRole"),
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level role API Gateway needs to write access and execution logs",
    )
    _ack(
        api,
        "APIG2",
        "Every route is a Lambda proxy; requests are validated in the function (Powertools + pydantic) "
        "with clear error pages",
    )
    if stack.portal.web_acl is None:
        _ack(
            api.deployment_stage,
            "APIG3",
            "No web ACL unless the deployment asks for one (context portalWaf, off by default: its $8 a "
            "month of fixed charges are more than the rest of a small portfolio's bill); the stage "
            "throttles at 50 requests a second, and the function itself limits staff sign-in posts per "
            "client IP and fresh-link requests per address and client",
        )
    for method in api.methods:
        _ack(
            method,
            "APIG4",
            "Customers sign in with a signed, expiring link exchanged for a session cookie in the function; "
            "there is no API Gateway identity to authorise against",
        )
        _ack(
            method,
            "COG4",
            "Customers of the company are not users of a Cognito pool; see APIG4. Staff routes are "
            "authenticated in the function",
        )
    user_pool = stack.staff.user_pool
    _ack(
        user_pool,
        "COG8",
        "Essentials, not Plus: the portal function calls InitiateAuth server-side, so Cognito's adaptive "
        "threat protection would see the function's IP address for every sign-in, and the pool holds only "
        "the collections team; instead the console refuses a client IP past 100 sign-in posts in 5 "
        "minutes (and so does the web ACL where portalWaf is on), Cognito locks out a user after failed "
        "passwords, and every staff user signs in with an authenticator code",
    )
    _ack(
        stack.portal.link_secret,
        "SMG4",
        "Rotated by ops with `arcollect rotate-link-key`, not on a timer: the secret then holds the new "
        "key and the previous one, which still opens the links already emailed until they expire "
        "(--grace-days; 0 for a leaked key)",
    )
