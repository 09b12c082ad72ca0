"""Staff directory: the Cognito user pool collectors and managers sign in with, its groups and app client."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from arcollect.contract import StaffGroups

# The password rules; the local stack creates its pool with the same (arcollect_cli/local/spec.py).
PASSWORD_MIN_LENGTH = 12
TEMPORARY_PASSWORD_DAYS = 3
# Short-lived tokens: the portal function keeps its own session, and asks again after a working day.
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_HOURS = 12

_GROUP_DESCRIPTIONS = {
    StaffGroups.COLLECTOR: "Works the worklist of the customers they own",
    StaffGroups.MANAGER: "Sees every worklist and the KPI reports; gets escalations",
}


class StaffDirectory(Construct):
    """The collections team: who may sign in to the staff console, and in which role (group).

    Users are created by an administrator (`arcollect staff add-user`), never by self sign-up. They sign in
    with their username, which is their owner key in the customer master (``owner``), so a collector's
    worklist is the tasks whose owner is their username. Email is not a sign-in alias: Cognito refuses
    usernames in email format when it is, and owner keys often are email addresses.
    """

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(TEMPORARY_PASSWORD_DAYS),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Every staff sign-in needs an authenticator app's code (TOTP; no SMS): the console enrols the
            # app at first sign-in (MFA_SETUP) and asks for a code at every later one (SOFTWARE_TOKEN_MFA).
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            user_invitation=cognito.UserInvitationConfig(
                email_subject="Your arcollect staff account",
                email_body=(
                    "You can now sign in to the arcollect staff console as {username} with the temporary "
                    "password {####}. You will choose your own password when you first sign in."
                ),
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.groups = {
            name: cognito.CfnUserPoolGroup(
                self,
                f"{name.capitalize()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=name,
                description=_GROUP_DESCRIPTIONS[name],
            )
            for name in StaffGroups.ALL
        }
        # The portal function signs staff in server-side (InitiateAuth USER_PASSWORD_AUTH, then
        # RespondToAuthChallenge for NEW_PASSWORD_REQUIRED, MFA_SETUP after AssociateSoftwareToken and
        # VerifySoftwareToken, and SOFTWARE_TOKEN_MFA): a public client, no secret, no hosted UI.
        self.client = self.user_pool.add_client(
            "StaffConsoleClient",
            auth_flows=cognito.AuthFlow(user_password=True),
            generate_secret=False,
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.minutes(ACCESS_TOKEN_MINUTES),
            id_token_validity=Duration.minutes(ACCESS_TOKEN_MINUTES),
            refresh_token_validity=Duration.hours(REFRESH_TOKEN_HOURS),
        )

    @property
    def user_pool_id(self) -> str:
        return self.user_pool.user_pool_id

    @property
    def client_id(self) -> str:
        return self.client.user_pool_client_id

    def allow_sign_in(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read a signed-in user's attributes and groups (the sign-in calls themselves,
        InitiateAuth, RespondToAuthChallenge and, with a challenge's session, AssociateSoftwareToken and
        VerifySoftwareToken, are public APIs of the app client)."""
        return self.user_pool.grant(grantee, "cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser")
