//! A configuration change from CloudTrail, as facts: what was changed, where, by whom,
//! when, and which settings moved (before → after where known). `logs::cloudtrail`
//! reads them from CloudTrail records; `engine::changes` relates them to incidents.

/// What kind of change a CloudTrail event is (its name without Lambda's API-version suffix).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// `CreateDeployment`: a new deployment, usually onto a stage.
    Deployment,
    /// `CreateStage`, `UpdateStage` (the stage's deployment, settings, variables).
    Stage,
    /// `PutIntegration`, `UpdateIntegration`, `CreateIntegration`.
    Integration,
    /// `PutMethod`, `UpdateMethod` (REST) and `CreateRoute`, `UpdateRoute` (HTTP, WebSocket).
    Route,
    /// `PutRestApi`, `ImportRestApi`, `ImportApi`, `ReimportApi`, `UpdateRestApi`, `UpdateApi`.
    Api,
    /// `UpdateFunctionCode*`.
    FunctionCode,
    /// `UpdateFunctionConfiguration*` (timeout, memory, VPC…).
    FunctionConfiguration,
    /// `PublishVersion*`.
    FunctionVersion,
    /// `UpdateAlias*` (where an alias points, its weights).
    FunctionAlias,
    /// `PutFunctionConcurrency*`, `DeleteFunctionConcurrency*`.
    ReservedConcurrency,
    /// `PutProvisionedConcurrencyConfig*`, `DeleteProvisionedConcurrencyConfig*`.
    ProvisionedConcurrency,
}

impl ChangeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Deployment => "deployment",
            ChangeAction::Stage => "stage",
            ChangeAction::Integration => "integration",
            ChangeAction::Route => "route",
            ChangeAction::Api => "api",
            ChangeAction::FunctionCode => "function_code",
            ChangeAction::FunctionConfiguration => "function_configuration",
            ChangeAction::FunctionVersion => "function_version",
            ChangeAction::FunctionAlias => "function_alias",
            ChangeAction::ReservedConcurrency => "reserved_concurrency",
            ChangeAction::ProvisionedConcurrency => "provisioned_concurrency",
        }
    }

    /// The action of a CloudTrail `eventName`, matched on its stem: Lambda's names carry
    /// API-version suffixes (`UpdateFunctionConfiguration20150331v2`). `None`: not a change
    /// the doctor relates to incidents.
    pub fn of_event_name(name: &str) -> Option<ChangeAction> {
        const API: &[(&str, ChangeAction)] = &[
            ("CreateDeployment", ChangeAction::Deployment),
            ("CreateStage", ChangeAction::Stage),
            ("UpdateStage", ChangeAction::Stage),
            ("PutIntegration", ChangeAction::Integration),
            ("UpdateIntegration", ChangeAction::Integration),
            ("CreateIntegration", ChangeAction::Integration),
            ("PutMethod", ChangeAction::Route),
            ("UpdateMethod", ChangeAction::Route),
            ("CreateRoute", ChangeAction::Route),
            ("UpdateRoute", ChangeAction::Route),
            ("PutRestApi", ChangeAction::Api),
            ("ImportRestApi", ChangeAction::Api),
            ("ImportApi", ChangeAction::Api),
            ("ReimportApi", ChangeAction::Api),
            ("UpdateRestApi", ChangeAction::Api),
            ("UpdateApi", ChangeAction::Api),
        ];
        const LAMBDA: &[(&str, ChangeAction)] = &[
            ("UpdateFunctionCode", ChangeAction::FunctionCode),
            (
                "UpdateFunctionConfiguration",
                ChangeAction::FunctionConfiguration,
            ),
            ("PublishVersion", ChangeAction::FunctionVersion),
            ("UpdateAlias", ChangeAction::FunctionAlias),
            ("PutFunctionConcurrency", ChangeAction::ReservedConcurrency),
            (
                "DeleteFunctionConcurrency",
                ChangeAction::ReservedConcurrency,
            ),
            (
                "PutProvisionedConcurrencyConfig",
                ChangeAction::ProvisionedConcurrency,
            ),
            (
                "DeleteProvisionedConcurrencyConfig",
                ChangeAction::ProvisionedConcurrency,
            ),
        ];
        // API Gateway names are exact ("UpdateIntegrationResponse" is another action);
        // a Lambda name is its stem plus an optional date-and-version suffix.
        if let Some((_, a)) = API.iter().find(|(n, _)| *n == name) {
            return Some(*a);
        }
        LAMBDA.iter().find_map(|(stem, a)| {
            let rest = name.strip_prefix(stem)?;
            let suffix = rest.is_empty()
                || (rest.len() >= 8 && rest.bytes().take(8).all(|b| b.is_ascii_digit()));
            suffix.then_some(*a)
        })
    }

    /// Changes to a Lambda function (the rest are to an API).
    pub fn is_function(self) -> bool {
        matches!(
            self,
            ChangeAction::FunctionCode
                | ChangeAction::FunctionConfiguration
                | ChangeAction::FunctionVersion
                | ChangeAction::FunctionAlias
                | ChangeAction::ReservedConcurrency
                | ChangeAction::ProvisionedConcurrency
        )
    }
}

/// What a change was made to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeTarget {
    /// An API (REST `restApiId` or HTTP/WebSocket `apiId`), narrowed where the event says.
    Api {
        api_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        /// REST resource id (not its path: the logs show paths, CloudTrail ids).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_method: Option<String>,
        /// HTTP/WebSocket integration or route id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        integration_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        route_id: Option<String>,
    },
    /// A Lambda function by name (from a name or an ARN), with its qualifier if any.
    Function {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qualifier: Option<String>,
    },
}

/// A setting a change moved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeDetail {
    /// The setting as AWS names it: `timeoutInMillis`, `uri`, `timeout` (seconds),
    /// `memorySize`, `reservedConcurrentExecutions`, `deploymentId`, a PATCH path…
    pub field: String,
    /// Its value before, when another change event for the same resource said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Its value after (`None`: removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl ChangeDetail {
    pub fn after_number(&self) -> Option<f64> {
        number(self.after.as_deref()?)
    }
    pub fn before_number(&self) -> Option<f64> {
        number(self.before.as_deref()?)
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// One change, as read from one CloudTrail record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// CloudTrail's `eventID`: the same event delivered twice (trail and EventBridge) is one change.
    pub event_id: String,
    /// As recorded (`UpdateFunctionConfiguration20150331v2`).
    pub event_name: String,
    pub action: ChangeAction,
    /// `eventTime`, epoch ms.
    pub event_time: i64,
    pub event_source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub target: ChangeTarget,
    /// Who: the IAM ARN (for a role session, the role's), or the service that called on
    /// someone's behalf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The service that made the call for the actor (`cloudformation.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ChangeDetail>,
}

impl Change {
    pub fn api_id(&self) -> Option<&str> {
        match &self.target {
            ChangeTarget::Api { api_id, .. } => Some(api_id),
            ChangeTarget::Function { .. } => None,
        }
    }

    pub fn function(&self) -> Option<&str> {
        match &self.target {
            ChangeTarget::Function { name, .. } => Some(name),
            ChangeTarget::Api { .. } => None,
        }
    }

    pub fn detail(&self, field: &str) -> Option<&ChangeDetail> {
        self.details.iter().find(|d| d.field == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_names_match_on_their_stem_and_api_gateway_names_exactly() {
        for (name, want) in [
            (
                "UpdateFunctionConfiguration20150331v2",
                Some(ChangeAction::FunctionConfiguration),
            ),
            (
                "UpdateFunctionConfiguration",
                Some(ChangeAction::FunctionConfiguration),
            ),
            (
                "PutFunctionConcurrency20171031",
                Some(ChangeAction::ReservedConcurrency),
            ),
            (
                "PutProvisionedConcurrencyConfig",
                Some(ChangeAction::ProvisionedConcurrency),
            ),
            ("UpdateIntegration", Some(ChangeAction::Integration)),
            ("UpdateIntegrationResponse", None),
            ("UpdateFunctionConfigurationX", None),
            ("GetFunction20150331v2", None),
            ("CreateDeployment", Some(ChangeAction::Deployment)),
            ("", None),
        ] {
            assert_eq!(ChangeAction::of_event_name(name), want, "{name}");
        }
    }
}
