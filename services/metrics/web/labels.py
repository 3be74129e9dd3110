"""What the board says, in Vietnamese (the default) and English: KPI names, unit levels and the page's words."""

from __future__ import annotations

from typing import Literal

from shared.kpi_catalogue import KPI_NAMES

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

# GUESS: the Vietnamese KPI names follow the wording of the national portal's and provincial IOC dashboards
# ("Tỷ lệ hồ sơ nộp trực tuyến", "Tỷ lệ giải quyết đúng hạn", ...); no official list of labels was at hand.
KPI_LABELS: dict[str, dict[Language, str]] = {
    "online_submission_rate": {"vi": "Hồ sơ nộp trực tuyến", "en": "Submitted online"},
    "full_online_rate": {"vi": "Hồ sơ trực tuyến toàn trình", "en": "Fully online"},
    "online_service_usage_rate": {"vi": "DVC trực tuyến phát sinh hồ sơ", "en": "Online services in use"},
    "online_result_rate": {"vi": "Trả kết quả điện tử", "en": "Electronic results"},
    "digitization_rate": {"vi": "Số hóa hồ sơ", "en": "Digitized dossiers"},
    "essential_online_rate": {"vi": "DVC thiết yếu trực tuyến", "en": "Essential services online"},
    "on_time_rate": {"vi": "Giải quyết đúng hạn", "en": "Settled on time"},
    "satisfaction_rate": {"vi": "Mức độ hài lòng", "en": "Satisfaction"},
    "feedback_satisfaction_rate": {"vi": "Hài lòng xử lý PAKN", "en": "Satisfied with feedback handling"},
    "feedback_on_time_rate": {"vi": "PAKN xử lý đúng hạn", "en": "Feedback answered on time"},
    "online_payment_rate": {"vi": "Thanh toán trực tuyến", "en": "Paid online"},
}
if tuple(KPI_LABELS) != KPI_NAMES:  # every KPI of the catalogue has a label, in the catalogue's order
    raise RuntimeError("KPI_LABELS must name exactly shared.kpi_catalogue.KPI_NAMES, in that order")

LEVEL_LABELS: dict[str, dict[Language, str]] = {
    "province": {"vi": "Tỉnh/thành phố", "en": "Province"},
    "department": {"vi": "Sở, ban, ngành", "en": "Departments"},
    "district": {"vi": "Quận/huyện", "en": "Districts"},
    "commune": {"vi": "Xã, phường, đặc khu", "en": "Communes and wards"},
    "unknown": {"vi": "Chưa rõ", "en": "Unknown"},
}

WINDOW_LABELS: dict[str, dict[Language, str]] = {
    "1d": {"vi": "24 giờ qua", "en": "Last 24 hours"},
    "7d": {"vi": "7 ngày qua", "en": "Last 7 days"},
    "30d": {"vi": "30 ngày qua", "en": "Last 30 days"},
    "mtd": {"vi": "Từ đầu tháng", "en": "Month to date"},
    "qtd": {"vi": "Từ đầu quý", "en": "Quarter to date"},
    "ytd": {"vi": "Từ đầu năm", "en": "Year to date"},
}

MESSAGES: dict[str, dict[Language, str]] = {
    "title": {"vi": "Trung tâm điều hành — Dịch vụ công", "en": "Operations centre — Public services"},
    "switch_language": {"vi": "English", "en": "Tiếng Việt"},
    "switch_language_hint": {"vi": "Switch to English", "en": "Chuyển sang tiếng Việt"},
    "updated": {"vi": "Cập nhật", "en": "Updated"},
    "window": {"vi": "Khoảng thời gian", "en": "Window"},
    "kpis": {"vi": "Chỉ số", "en": "Indicators"},
    "target": {"vi": "Mục tiêu", "en": "Target"},
    "trend": {"vi": "Xu hướng 30 ngày", "en": "30-day trend"},
    "trend_unavailable": {"vi": "Không có xu hướng theo ngày", "en": "No daily trend"},
    "status_met": {"vi": "Đạt", "en": "Met"},
    "status_below": {"vi": "Chưa đạt", "en": "Below target"},
    "status_no_data": {"vi": "Chưa có dữ liệu", "en": "No data"},
    "status_low_sample": {"vi": "Ít mẫu", "en": "Too few"},
    "status_no_target": {"vi": "Không có mục tiêu", "en": "No target"},
    "ranking": {"vi": "Xếp hạng", "en": "Ranking"},
    "rank": {"vi": "Hạng", "en": "Rank"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "level": {"vi": "Cấp", "en": "Level"},
    "indicator": {"vi": "Chỉ số", "en": "Indicator"},
    "children": {"vi": "Đơn vị trực thuộc", "en": "Units below"},
    "back_to": {"vi": "Về", "en": "Back to"},
    "alerts": {"vi": "Cảnh báo đang hoạt động", "en": "Active alerts"},
    "alerts_none": {"vi": "Không có cảnh báo", "en": "No active alerts"},
    "unavailable": {"vi": "Không khả dụng", "en": "Unavailable"},
    "firing": {"vi": "Đang cảnh báo", "en": "Firing"},
    "pending": {"vi": "Chờ xác nhận", "en": "Pending"},
    "since": {"vi": "từ", "en": "since"},
    "severity_critical": {"vi": "nghiêm trọng", "en": "critical"},
    "severity_warning": {"vi": "cảnh báo", "en": "warning"},
    "severity_info": {"vi": "thông tin", "en": "info"},
    "backlog": {"vi": "Hồ sơ đang giải quyết", "en": "Dossiers in progress"},
    "in_progress": {"vi": "Đang giải quyết", "en": "In progress"},
    "overdue": {"vi": "Quá hạn", "en": "Overdue"},
    "paused": {"vi": "Tạm dừng", "en": "Paused"},
    "most_overdue": {"vi": "Nhiều hồ sơ quá hạn nhất", "en": "Most overdue"},
    "index766": {"vi": "Chỉ số phục vụ (QĐ 766)", "en": "Service index (Decision 766)"},
    "not_available": {"vi": "Chưa có", "en": "Not available"},
    "points": {"vi": "điểm", "en": "points"},
    "coverage": {"vi": "Độ phủ dữ liệu", "en": "Data coverage"},
    "pipeline": {"vi": "Tình trạng luồng dữ liệu", "en": "Pipeline health"},
    "consumer_lag": {"vi": "Sự kiện chờ xử lý", "en": "Consumer lag"},
    "dead_letters": {"vi": "Sự kiện lỗi (DLQ)", "en": "Dead letters"},
    "sources": {"vi": "Nguồn dữ liệu", "en": "Sources"},
    "silent": {"vi": "Im lặng", "en": "Silent"},
    "active": {"vi": "Hoạt động", "en": "Active"},
    "last_event": {"vi": "Sự kiện gần nhất", "en": "Last event"},
    "unknown_units": {"vi": "Mã đơn vị chưa có trong cây", "en": "Unknown unit codes"},
    "none": {"vi": "Không có", "en": "None"},
    "no_data": {"vi": "Chưa có dữ liệu", "en": "No data"},
    "loading": {"vi": "Đang tải…", "en": "Loading…"},
    "ago_min": {"vi": "phút trước", "en": "min ago"},
    "group_transparency": {"vi": "Công khai, minh bạch", "en": "Transparency"},
    "group_progress": {"vi": "Tiến độ giải quyết", "en": "Progress"},
    "group_online_service": {"vi": "Dịch vụ trực tuyến", "en": "Online service"},
    "group_online_payment": {"vi": "Thanh toán trực tuyến", "en": "Online payment"},
    "group_digitization": {"vi": "Số hóa hồ sơ", "en": "Digitization"},
    "group_satisfaction": {"vi": "Mức độ hài lòng", "en": "Satisfaction"},
}


def catalogue(language: Language) -> dict[str, dict[str, str]]:
    """Every label in one language: what the page's script formats its panels with."""
    return {
        "kpis": {name: labels[language] for name, labels in KPI_LABELS.items()},
        "levels": {name: labels[language] for name, labels in LEVEL_LABELS.items()},
        "windows": {name: labels[language] for name, labels in WINDOW_LABELS.items()},
        "messages": {name: labels[language] for name, labels in MESSAGES.items()},
    }
