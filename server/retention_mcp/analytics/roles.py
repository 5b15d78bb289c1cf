"""Column roles: the names a file's columns go by for each role (customer id, dates, churn flag, tenure, plan, amount,
billing interval, order date), in English and Chinese, and how a column name is normalised before it is matched."""

from __future__ import annotations

import re

# -- column roles -----------------------------------------------------------------------------------------------------
ROLES: dict[str, list[str]] = {
    "customer_id": [
        "customer_id", "customerid", "customer", "cust_id", "client_id", "user_id", "userid", "account_id",
        "account", "member_id", "subscriber_id", "id", "客户id", "客户编号", "客户", "用户id", "用户编号", "会员id",
        "会员编号", "账户id",
    ],
    "start_date": [
        "start_date", "signup_date", "start", "signup", "subscription_start", "created_at", "join_date", "joined",
        "activation_date", "开始日期", "注册日期", "开通日期", "订阅开始日期", "入会日期", "签约日期",
    ],
    "end_date": [
        "end_date", "cancel_date", "churn_date", "cancellation_date", "cancelled_at", "canceled_at",
        "subscription_end", "end", "结束日期", "取消日期", "流失日期", "退订日期", "解约日期",
    ],
    "churned": [
        "churned", "churn", "is_churned", "churn_flag", "cancelled", "canceled", "exited", "attrition", "是否流失",
        "流失", "已流失", "流失标记",
    ],
    "tenure": [
        "tenure", "tenure_months", "months_active", "lifetime_months", "duration_months", "duration", "在网时长",
        "使用时长", "订阅时长", "时长", "在网月数", "tenure_days", "tenure_weeks", "tenure_years", "tenure_in_days",
        "tenure_in_months", "tenure_in_years", "在网天数", "在网年数", "使用天数", "使用月数", "订阅天数", "订阅月数",
    ],
    "plan": [
        "plan", "plan_type", "contract", "contract_type", "subscription_type", "billing_plan", "tier", "package",
        "套餐", "合同类型", "会员类型", "付费方式", "计划",
    ],
    "amount": [
        "mrr", "monthly_revenue", "monthly_charges", "monthlycharges", "amount", "revenue", "price", "arpu",
        "月费", "月收入", "金额", "收入", "月度收入",
    ],
    "billing_interval": ["billing_interval", "billing_period", "interval", "billing_cycle", "计费周期", "付费周期"],
    "month": ["month", "billing_month", "invoice_month", "revenue_month", "period", "月份", "账期", "计费月份"],
    "transaction_date": [
        "transaction_date", "order_date", "purchase_date", "invoice_date", "date", "交易日期", "下单日期",
        "购买日期", "订单日期",
    ],
}  # fmt: skip


ROLE_NAMES = list(ROLES)


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-./]+", "_", name.strip().lower()).strip("_")
