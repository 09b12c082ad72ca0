"""Portal: API Gateway REST API (logged, throttled, a WAF if asked for) -> portal function; signing key."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from arcollect.changes import CHANGES_PREFIX
from arcollect.contract import DropPrefix, EnvVar, FunctionName, ReportPrefix
from arcollect.credit_control import AGENCY_PREFIX
from arcollect.staff import STAFF_SIGN_IN_PER_5MIN
from infra.constructs.data import DataStore
from infra.constructs.mail import Mail
from infra.constructs.runtime import FunctionRuntime
from infra.constructs.staff import StaffDirectory

STAGE_NAME = "live"


def _staff_sign_in_posts() -> wafv2.CfnWebACL.StatementProperty:
    """POSTs whose path ends in /staff/sign-in (the stage prefix, or none on a custom domain)."""
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                        positional_constraint="ENDS_WITH",
                        search_string="/staff/sign-in",
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
                        ],
                    )
                ),
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
                        positional_constraint="EXACTLY",
                        search_string="POST",
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                        ],
                    )
                ),
            ]
        )
    )


def _managed_rule(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        ),
    )


class Portal(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        runtime: FunctionRuntime,
        data: DataStore,
        environment_name: str,
        log_retention: logs.RetentionDays,
        domain_name: str | None,
        certificate_arn: str | None,
        rate_limit_per_5min: int,
        waf: bool,
        mail: Mail,
        staff: StaffDirectory,
        portal_link_days: str,
        payment_url_template: str | None,
    ) -> None:
        super().__init__(scope, id)
        # The HMAC key that signs the customer links in reminder emails.
        self.link_secret = secretsmanager.Secret(
            self,
            "LinkSigningKey",
            description="arcollect portal link signing key (HMAC)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = runtime.function(
            self,
            FunctionName.PORTAL,
            description="Customer self-service portal (pages and /api/v1)",
            timeout=Duration.seconds(20),
            memory_size=1024,
            environment={
                EnvVar.ENVIRONMENT_NAME: environment_name,
                EnvVar.TABLE_NAME: data.table.table_name,
                EnvVar.DROP_BUCKET: data.drop_bucket.bucket_name,
                EnvVar.LINK_SECRET_ARN: self.link_secret.secret_arn,
                EnvVar.PORTAL_LINK_DAYS: portal_link_days,
                # Empty: invoices without their own pay link have no online payment.
                EnvVar.PAYMENT_URL_TEMPLATE: payment_url_template or "",
                EnvVar.SENDER_EMAIL: mail.sender_email,
                EnvVar.SES_CONFIGURATION_SET: mail.configuration_set_name,
                EnvVar.STAFF_USER_POOL_ID: staff.user_pool_id,
                EnvVar.STAFF_CLIENT_ID: staff.client_id,
                EnvVar.REPORTS_BUCKET: data.reports_bucket.bucket_name,
                # None until the stack names them (``show_dead_letter_queues``).
                EnvVar.DEAD_LETTER_QUEUES: "{}",
            },
        )
        data.table.grant_read_write_data(self.function)
        self.link_secret.grant_read(self.function)
        # Invoice documents the ERP dropped (read). Dispute attachments: customers upload to a pending key
        # (the function presigns the POST: put); the function checks the upload (read), moves it to the
        # dispute's key (put) and deletes the pending copy, or deletes a file that failed its check.
        data.drop_bucket.grant_read(self.function, "incoming/documents/*")
        pending = f"{DropPrefix.PENDING_ATTACHMENTS}*"
        data.drop_bucket.grant_put(self.function, pending)
        data.drop_bucket.grant_read(self.function, pending)
        data.drop_bucket.grant_delete(self.function, pending)
        data.drop_bucket.grant_put(self.function, f"{DropPrefix.DISPUTE_ATTACHMENTS}*")
        # The ERP change feed: disputes, credits, promises, holds and contact changes as they happen.
        data.drop_bucket.grant_put(self.function, f"{CHANGES_PREFIX}*")
        # An agency placement's hand-off file, beside the change feed (arcollect/credit_control.py).
        data.drop_bucket.grant_put(self.function, f"{AGENCY_PREFIX}*")
        # "Send me a fresh link" emails the customer's AP address on file.
        mail.allow_sending(self.function)
        # The staff console: collectors and managers sign in against the staff user pool, and managers
        # download the KPI reports (presigned) from the reports bucket.
        staff.allow_sign_in(self.function)
        data.reports_bucket.grant_read(self.function, f"{ReportPrefix.KPI}*")
        # Collectors open the attachments of customers' replies from the 360 (presigned: docs/inbox.md).
        data.drop_bucket.grant_read(self.function, f"{DropPrefix.REPLY_ATTACHMENTS}*")

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        self.api = apigw.LambdaRestApi(
            self,
            "Api",
            handler=self.function,
            proxy=True,
            description="arcollect customer portal",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            # API Gateway decodes a function's base64 body only when the request's Accept matches a
            # binary type, and browsers send */*-ish Accept headers: the statement download (XLSX) needs
            # every type listed. Text responses are not base64-encoded and pass through unchanged.
            binary_media_types=["*/*"],
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request and response bodies carry customer data: never into logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=50,
                throttling_burst_limit=100,
            ),
        )
        # The stack publishes the URL as PortalUrl (the custom domain when there is one); the REST API's
        # own auto-named "Endpoint" output would be a second, unstable name for it.
        self.api.node.try_remove_child("Endpoint")
        self.web_acl: wafv2.CfnWebACL | None = None
        # Where the portal's pages are served from (scheme and host): the API's own, and a custom domain.
        self.origins: list[str] = [
            f"https://{self.api.rest_api_id}.execute-api.{Stack.of(self).region}.{Stack.of(self).url_suffix}"
        ]
        if waf:
            self.web_acl = self._web_acl(rate_limit_per_5min)
            wafv2.CfnWebACLAssociation(
                self,
                "WebAclAssociation",
                resource_arn=self.api.deployment_stage.stage_arn,
                web_acl_arn=self.web_acl.attr_arn,
            )
        if domain_name and certificate_arn:
            custom_domain = self.api.add_domain_name(
                "CustomDomain",
                domain_name=domain_name,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
                endpoint_type=apigw.EndpointType.REGIONAL,
                security_policy=apigw.SecurityPolicy.TLS_1_2,
            )
            self.url = f"https://{custom_domain.domain_name}/"
            self.origins.append(f"https://{domain_name}")
        else:
            self.url = self.api.url

    def show_dead_letter_queues(self, urls: str, queues: Mapping[str, sqs.IQueue]) -> None:
        """The staff console's status page shows these queues' depths (``urls``: their JSON, as the
        stack outputs it). They are made after the portal, by the functions they serve."""
        self.function.add_environment(EnvVar.DEAD_LETTER_QUEUES, urls)
        for queue in queues.values():
            queue.grant(self.function, "sqs:GetQueueAttributes")

    def _web_acl(self, rate_limit_per_5min: int) -> wafv2.CfnWebACL:
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name="arcollect-portal",
                sampled_requests_enabled=True,
            ),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=rate_limit_per_5min
                        )
                    ),
                    visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                        cloud_watch_metrics_enabled=True,
                        metric_name="RateLimitPerIp",
                        sampled_requests_enabled=True,
                    ),
                ),
                # Password guessing at the staff console: far fewer sign-in posts per client than
                # requests overall (Cognito Essentials has no adaptive protection: the function signs
                # in server-side, so Cognito would see one IP for every user).
                wafv2.CfnWebACL.RuleProperty(
                    name="StaffSignInRateLimitPerIp",
                    priority=1,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=STAFF_SIGN_IN_PER_5MIN,
                            scope_down_statement=_staff_sign_in_posts(),
                        )
                    ),
                    visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                        cloud_watch_metrics_enabled=True,
                        metric_name="StaffSignInRateLimitPerIp",
                        sampled_requests_enabled=True,
                    ),
                ),
                _managed_rule("AWSManagedRulesCommonRuleSet", 2),
                _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )
