"""The DAG CI's Airflow 3 runs Steward's retraining test against: it prints the conf Steward
sent (the policy's params and `steward`, the decision's context)."""
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="fraud_retrain", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def fraud_retrain():
    @task
    def train(**context):
        print(context["dag_run"].conf)

    train()


fraud_retrain()
