from celery import shared_task


@shared_task(name="runbooks.execute_run", ignore_result=True)
def execute_run_task(run_id):
    from runbooks.runs import execute_run

    execute_run(run_id)


@shared_task(name="runbooks.execute_rehearsal", ignore_result=True)
def execute_rehearsal_task(rehearsal_id):
    from .rehearsal import execute_rehearsal

    execute_rehearsal(rehearsal_id)


@shared_task(name="runbooks.sweep", ignore_result=True)
def sweep_task():
    from runbooks.runs import sweep

    sweep()
