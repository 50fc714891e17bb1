"""CloudFormation types moto lacks for monitoring: CloudWatch alarms (metric math included) and dashboards (whose body
must be a JSON object, as PutDashboard requires)."""

from __future__ import annotations

import json
from typing import Any

from .cfn_base import LocalModel


def monitoring_models() -> tuple[type, ...]:
    """Define the types (so moto's CloudFormation registers them) and return them."""
    from moto.core.common_models import CloudFormationModel

    class CloudWatchAlarm(LocalModel, CloudFormationModel):
        CFN_TYPE = "AWS::CloudWatch::Alarm"
        NAME_PROPERTY = "AlarmName"
        ATTRIBUTES = ("Arn",)

        def __init__(self, name: str, arn: str) -> None:
            self.name = name
            self.arn = arn
            self.physical_id = name

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> CloudWatchAlarm:
            from moto.cloudwatch.models import cloudwatch_backends

            properties = cloudformation_json["Properties"]
            alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=resource_name,
                namespace=properties.get("Namespace"),
                metric_name=properties.get("MetricName"),
                comparison_operator=properties.get("ComparisonOperator"),
                evaluation_periods=properties.get("EvaluationPeriods"),
                period=properties.get("Period"),
                threshold=properties.get("Threshold"),
                statistic=properties.get("Statistic"),
                description=properties.get("AlarmDescription"),
                dimensions=properties.get("Dimensions", []),
                alarm_actions=properties.get("AlarmActions", []),
                metric_data_queries=_metric_data_queries(properties.get("Metrics")),
                datapoints_to_alarm=properties.get("DatapointsToAlarm"),
                extended_statistic=properties.get("ExtendedStatistic"),
                ok_actions=properties.get("OKActions", []),
                insufficient_data_actions=properties.get("InsufficientDataActions", []),
                unit=properties.get("Unit"),
                actions_enabled=properties.get("ActionsEnabled", True) not in (False, "false"),
                treat_missing_data=properties.get("TreatMissingData"),
                evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
                threshold_metric_id=properties.get("ThresholdMetricId"),
            )
            return cls(resource_name, alarm.alarm_arn)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.cloudwatch.models import cloudwatch_backends

            cloudwatch_backends[account_id][region_name].delete_alarms([self.name])

    class CloudWatchDashboard(LocalModel, CloudFormationModel):
        CFN_TYPE = "AWS::CloudWatch::Dashboard"
        NAME_PROPERTY = "DashboardName"

        def __init__(self, name: str) -> None:
            self.name = name
            self.physical_id = name

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> CloudWatchDashboard:
            from moto.cloudwatch.models import cloudwatch_backends

            properties = cloudformation_json["Properties"]
            name = str(properties.get("DashboardName") or resource_name)
            body = properties["DashboardBody"]
            if not isinstance(body, str):
                body = json.dumps(body)
            # PutDashboard rejects a body that is not a JSON object (InvalidParameterInput), and so the stack fails.
            if not isinstance(json.loads(body), dict):
                raise ValueError(f"dashboard {name}: DashboardBody is not a JSON object")
            cloudwatch_backends[account_id][region_name].put_dashboard(name, body)
            return cls(name)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.cloudwatch.models import cloudwatch_backends

            cloudwatch_backends[account_id][region_name].delete_dashboards([self.name])

    return CloudWatchAlarm, CloudWatchDashboard


def _metric_data_queries(metrics: list[dict[str, Any]] | None) -> list[Any] | None:
    if not metrics:
        return None
    from moto.cloudwatch import models as cloudwatch

    # The same conversion moto's PutMetricAlarm response does; moto's constructors are typed str, values may be None.
    queries = []
    for metric in metrics:
        stat: dict[str, Any] = metric.get("MetricStat") or {}
        stat_metric: dict[str, Any] = stat.get("Metric") or {}
        metric_stat: Any = None
        if stat_metric.get("MetricName"):
            dimensions = [
                cloudwatch.Dimension(name=item.get("Name"), value=item.get("Value"))
                for item in stat_metric.get("Dimensions", [])
            ]
            measured: dict[str, Any] = {
                "metric_name": stat_metric["MetricName"],
                "namespace": stat_metric.get("Namespace"),
                "dimensions": dimensions,
            }
            stat_args: dict[str, Any] = {
                "period": stat.get("Period"),
                "stat": stat.get("Stat"),
                "unit": stat.get("Unit"),
            }
            metric_stat = cloudwatch.MetricStat(metric=cloudwatch.Metric(**measured), **stat_args)
        query: dict[str, Any] = {
            "query_id": metric.get("Id"),
            "label": metric.get("Label"),
            "period": metric.get("Period"),
            "return_data": metric.get("ReturnData"),
            "expression": metric.get("Expression"),
            "metric_stat": metric_stat,
        }
        queries.append(cloudwatch.MetricDataQuery(**query))
    return queries
