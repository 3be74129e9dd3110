"""Generate the shipped sample reference data into `shared/refdata/`.

Run from the repository root: `python deploy/refdata/generate_sample.py [--out DIR]`. The output is
deterministic. Three files:
- `sample_units.yaml` (the default): today's Hải Phòng city (`H24`, two tiers since 1 July 2025, data in
  `haiphong_2025.py`) and, as its predecessor until 30 June 2025, the Hải Dương 2024 tree below.
- `sample_units_haiduong_2024.yaml`: the Hải Dương 2024 tree alone (1 province, 20 departments, 12
  district-level units, 235 communes), the tree behind the seed figures. Commune names follow Hai Duong's
  communes as of about 2020 where known; the structure and counts matter more than realism.
- `sample_procedures.csv`: the procedure catalogue (department procedures name the Hải Dương departments; their
  successors in Hải Phòng offer them too).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
from datetime import date
from pathlib import Path

import yaml
from haiphong_2025 import BODIES, OLD_HAIDUONG, OLD_HAIPHONG, SPECIAL_ZONE, SPECIAL_ZONES, WARD

OUT = Path(__file__).resolve().parents[2] / "shared" / "refdata"
PROVINCE = ("HD", "Tỉnh Hải Dương")
NEW_PROVINCE = ("H24", "Thành phố Hải Phòng")
MERGED_ON = date(2025, 7, 1)
LAST_DAY_BEFORE = date(2025, 6, 30)

DEPARTMENTS: list[tuple[str, str]] = [
    ("STP", "Sở Tư pháp"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("SXD", "Sở Xây dựng"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("SYT", "Sở Y tế"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SCT", "Sở Công Thương"),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("STC", "Sở Tài chính"),
    ("SNV", "Sở Nội vụ"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("STTTT", "Sở Thông tin và Truyền thông"),
    ("BQLKCN", "Ban Quản lý các khu công nghiệp"),
    ("TTT", "Thanh tra tỉnh"),
    ("CAT", "Công an tỉnh"),
    ("BHXH", "Bảo hiểm xã hội tỉnh"),
    ("CT", "Cục Thuế tỉnh"),
]

# District code, name, communes. Prefixes: "P " phường, "T " thị trấn, otherwise xã.
# fmt: off
DISTRICTS: list[tuple[str, str, list[str]]] = [
    ("HDG", "Thành phố Hải Dương", [
        "P Bình Hàn", "P Cẩm Thượng", "P Hải Tân", "P Lê Thanh Nghị", "P Ngọc Châu", "P Nhị Châu",
        "P Nguyễn Trãi", "P Phạm Ngũ Lão", "P Quang Trung", "P Tân Bình", "P Thanh Bình", "P Trần Hưng Đạo",
        "P Trần Phú", "P Tứ Minh", "P Việt Hòa", "P Thạch Khôi", "P Tân Hưng", "P Nam Đồng", "P Ái Quốc",
        "An Thượng", "Gia Xuyên", "Liên Hồng", "Ngọc Sơn", "Quyết Thắng", "Tiền Tiến",
    ]),
    ("CL", "Thành phố Chí Linh", [
        "P Sao Đỏ", "P Phả Lại", "P Cộng Hòa", "P Chí Minh", "P Hoàng Tân", "P Hoàng Tiến", "P Thái Học",
        "P Văn An", "P Văn Đức", "P Cổ Thành", "P Bến Tắm", "P An Lạc", "P Đồng Lạc", "P Tân Dân",
        "Hoàng Hoa Thám", "Bắc An", "Hưng Đạo", "Lê Lợi", "Nhân Huệ",
    ]),
    ("KM", "Thị xã Kinh Môn", [
        "P An Lưu", "P Hiệp An", "P Hiệp Sơn", "P Long Xuyên", "P Thái Thịnh", "P Hiến Thành", "P Minh Tân",
        "P Phú Thứ", "P Duy Tân", "P Tân Dân", "P An Phụ", "P Thất Hùng", "P Phạm Thái", "P An Sinh",
        "Bạch Đằng", "Hiệp Hòa", "Lê Ninh", "Hoành Sơn", "Lạc Long", "Thăng Long", "Thượng Quận",
        "Quang Thành", "Minh Hòa",
    ]),
    ("CG", "Huyện Cẩm Giàng", [
        "T Cẩm Giang", "T Lai Cách", "Cao An", "Cẩm Điền", "Cẩm Đoài", "Cẩm Đông", "Cẩm Hoàng", "Cẩm Hưng",
        "Cẩm Phúc", "Cẩm Văn", "Cẩm Vũ", "Đức Chính", "Lương Điền", "Ngọc Liên", "Tân Trường", "Thạch Lỗi",
        "Định Sơn",
    ]),
    ("BG", "Huyện Bình Giang", [
        "T Kẻ Sặt", "Bình Minh", "Bình Xuyên", "Cổ Bì", "Hồng Khê", "Hùng Thắng", "Long Xuyên", "Nhân Quyền",
        "Tân Hồng", "Tân Việt", "Thái Dương", "Thái Học", "Thái Hòa", "Thúc Kháng", "Vĩnh Hồng", "Vĩnh Hưng",
    ]),
    ("GL", "Huyện Gia Lộc", [
        "T Gia Lộc", "Đoàn Thượng", "Đồng Quang", "Gia Khánh", "Gia Tân", "Hoàng Diệu", "Hồng Hưng",
        "Lê Lợi", "Nhật Quang", "Phạm Trấn", "Quang Minh", "Tân Tiến", "Thống Kênh", "Thống Nhất",
        "Toàn Thắng", "Yết Kiêu", "Gia Phúc", "Đức Xương",
    ]),
    ("TK", "Huyện Tứ Kỳ", [
        "T Tứ Kỳ", "An Thanh", "Bình Lãng", "Chí Minh", "Cộng Lạc", "Dân Chủ", "Đại Đồng", "Đại Hợp",
        "Hà Kỳ", "Hà Thanh", "Hưng Đạo", "Minh Đức", "Ngọc Kỳ", "Nguyên Giáp", "Phượng Kỳ", "Quang Khải",
        "Quang Phục", "Quang Trung", "Tái Sơn", "Tân Kỳ", "Tiên Động", "Văn Tố", "Thanh Kỳ", "Kỳ Sơn",
    ]),
    ("NG", "Huyện Ninh Giang", [
        "T Ninh Giang", "An Đức", "Đông Xuyên", "Đồng Tâm", "Hiệp Lực", "Hồng Dụ", "Hồng Đức", "Hồng Phong",
        "Hồng Phúc", "Hưng Long", "Kiến Quốc", "Nghĩa An", "Ninh Hải", "Tân Hương", "Tân Phong",
        "Tân Quang", "Ứng Hòe", "Văn Hội", "Vĩnh Hòa", "Hưng Thái",
    ]),
    ("TM", "Huyện Thanh Miện", [
        "T Thanh Miện", "Cao Thắng", "Chi Lăng Bắc", "Chi Lăng Nam", "Đoàn Kết", "Đoàn Tùng", "Hồng Phong",
        "Hồng Quang", "Lam Sơn", "Lê Hồng", "Ngô Quyền", "Ngũ Hùng", "Phạm Kha", "Tân Trào", "Thanh Giang",
        "Thanh Tùng", "Tứ Cường",
    ]),
    ("NS", "Huyện Nam Sách", [
        "T Nam Sách", "An Bình", "An Lâm", "An Sơn", "Cộng Hòa", "Đồng Lạc", "Hiệp Cát", "Hồng Phong",
        "Hợp Tiến", "Minh Tân", "Nam Hồng", "Nam Hưng", "Nam Tân", "Phú Điền", "Quốc Tuấn", "Thái Tân",
        "Thanh Quang", "Trần Phú", "Nam Chính",
    ]),
    ("KT", "Huyện Kim Thành", [
        "T Phú Thái", "Cộng Hòa", "Cổ Dũng", "Đại Đức", "Kim Anh", "Kim Đính", "Kim Liên", "Kim Tân",
        "Kim Xuyên", "Lai Khê", "Liên Hòa", "Ngũ Phúc", "Phúc Thành", "Tam Kỳ", "Thượng Vũ", "Tuấn Việt",
        "Hòa Bình", "Đồng Cẩm",
    ]),
    ("TH", "Huyện Thanh Hà", [
        "T Thanh Hà", "An Phượng", "Cẩm Chế", "Hồng Lạc", "Liên Mạc", "Tân An", "Tân Việt", "Thanh An",
        "Thanh Cường", "Thanh Hải", "Thanh Hồng", "Thanh Khê", "Thanh Lang", "Thanh Quang", "Thanh Sơn",
        "Thanh Tân", "Vĩnh Cường", "Việt Hồng", "Thanh Xá",
    ]),
]
# fmt: on

FULL, PARTIAL, OFFLINE = "full_online", "partial_online", "offline"
# (name, explicit service level or None for the seeded spread, essential). Essential = Project 06's 25 services.
Row = tuple[str, str | None, bool]
DEPARTMENT_PROCEDURES: dict[str, list[Row]] = {
    "STP": [
        ("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam", FULL, True),
        ("Cấp Phiếu lý lịch tư pháp cho cơ quan tiến hành tố tụng", None, False),
        ("Đăng ký hành nghề và cấp Thẻ công chứng viên", None, False),
        ("Thành lập Văn phòng công chứng", None, False),
        ("Đăng ký hoạt động Văn phòng công chứng", None, False),
        ("Đăng ký tập sự hành nghề công chứng", None, False),
        ("Đăng ký hoạt động của tổ chức hành nghề luật sư", None, False),
        ("Đăng ký hoạt động của doanh nghiệp đấu giá tài sản", None, False),
        ("Đăng ký hoạt động của Trung tâm tư vấn pháp luật", None, False),
        ("Bổ nhiệm giám định viên tư pháp", OFFLINE, False),
    ],
    "SKHDT": [
        ("Đăng ký thành lập doanh nghiệp", FULL, True),
        ("Đăng ký thay đổi nội dung đăng ký doanh nghiệp", None, False),
        ("Thông báo thay đổi nội dung đăng ký doanh nghiệp", None, False),
        ("Đăng ký hoạt động chi nhánh, văn phòng đại diện, địa điểm kinh doanh", None, False),
        ("Thông báo tạm ngừng kinh doanh, tiếp tục kinh doanh trước thời hạn", None, False),
        ("Giải thể doanh nghiệp", None, False),
        ("Cấp lại Giấy chứng nhận đăng ký doanh nghiệp", None, False),
        ("Chấp thuận chủ trương đầu tư của Ủy ban nhân dân cấp tỉnh", None, False),
        ("Cấp Giấy chứng nhận đăng ký đầu tư đối với dự án không thuộc diện chấp thuận chủ trương đầu tư", None, False),
        ("Điều chỉnh Giấy chứng nhận đăng ký đầu tư", None, False),
        ("Đăng ký thành lập liên hiệp hợp tác xã", None, False),
    ],
    "SXD": [
        ("Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II", None, False),
        ("Cấp giấy phép sửa chữa, cải tạo công trình", None, False),
        ("Gia hạn giấy phép xây dựng", None, False),
        ("Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng", None, False),
        ("Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở", None, False),
        ("Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", None, False),
        ("Cấp chứng chỉ năng lực hoạt động xây dựng hạng II, hạng III", None, False),
        ("Cấp giấy phép di dời công trình", None, False),
        ("Thông báo nhà ở hình thành trong tương lai đủ điều kiện được bán, cho thuê mua", None, False),
    ],
    "STNMT": [
        ("Cấp giấy phép môi trường", None, False),
        ("Thẩm định báo cáo đánh giá tác động môi trường", None, False),
        ("Cấp giấy phép khai thác, sử dụng nước dưới đất", None, False),
        ("Cấp giấy phép khai thác, sử dụng nước mặt", None, False),
        ("Cấp giấy phép xả nước thải vào nguồn nước", None, False),
        ("Cấp giấy phép thăm dò khoáng sản", None, False),
        ("Cấp giấy phép khai thác khoáng sản", None, False),
        ("Giao đất, cho thuê đất đối với tổ chức", None, False),
        ("Chuyển mục đích sử dụng đất đối với tổ chức", None, False),
        ("Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận lần đầu cho tổ chức", None, False),
        ("Đăng ký biến động quyền sử dụng đất, tài sản gắn liền với đất của tổ chức", None, False),
        ("Cung cấp thông tin, dữ liệu đất đai", None, False),
    ],
    "SGTVT": [
        ("Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp", FULL, True),
        ("Cấp lại giấy phép lái xe", None, False),
        ("Cấp giấy phép lái xe quốc tế", None, False),
        ("Cấp Giấy phép kinh doanh vận tải bằng xe ô tô", None, False),
        ("Cấp phù hiệu xe ô tô kinh doanh vận tải", None, False),
        ("Cấp Giấy phép đào tạo lái xe ô tô", None, False),
        ("Cấp phép thi công công trình trên đường bộ đang khai thác", None, False),
        ("Chấp thuận xây dựng công trình thiết yếu trong phạm vi bảo vệ kết cấu hạ tầng đường bộ", None, False),
        ("Cấp giấy phép lưu hành xe quá tải trọng, xe quá khổ giới hạn trên đường bộ", None, False),
        ("Đăng ký phương tiện thủy nội địa lần đầu", None, False),
        ("Cấp giấy phép xe tập lái", None, False),
    ],
    "SYT": [
        ("Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", None, False),
        ("Cấp giấy phép hoạt động đối với phòng khám đa khoa", None, False),
        ("Cấp giấy phép hoạt động đối với phòng khám chuyên khoa", None, False),
        ("Cấp Chứng chỉ hành nghề dược", None, False),
        ("Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược", None, False),
        ("Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm thuộc ngành Y tế", None, False),
        ("Cấp giấy xác nhận nội dung quảng cáo thực phẩm", None, False),
        ("Đăng ký bản công bố sản phẩm thực phẩm", None, False),
        ("Cấp giấy chứng nhận đủ điều kiện sản xuất mỹ phẩm", None, False),
        ("Tiếp nhận phiếu công bố sản phẩm mỹ phẩm", None, False),
        ("Khám giám định y khoa lần đầu", OFFLINE, False),
    ],
    "SGDDT": [
        ("Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", None, False),
        ("Chỉnh sửa nội dung văn bằng, chứng chỉ", None, False),
        ("Đăng ký dự thi tốt nghiệp trung học phổ thông", None, False),
        ("Cho phép trường trung học phổ thông hoạt động giáo dục", None, False),
        ("Thành lập trung tâm ngoại ngữ, tin học", None, False),
        ("Cho phép trung tâm ngoại ngữ, tin học hoạt động giáo dục", None, False),
        ("Chuyển trường đối với học sinh trung học phổ thông", None, False),
        ("Phúc khảo bài thi tốt nghiệp trung học phổ thông", None, False),
    ],
    "SLDTBXH": [
        ("Giải quyết hưởng trợ cấp thất nghiệp", PARTIAL, True),
        ("Hỗ trợ người lao động tạm hoãn thực hiện hợp đồng lao động, nghỉ việc không hưởng lương", PARTIAL, True),
        ("Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam", None, False),
        ("Cấp lại giấy phép lao động cho người lao động nước ngoài", None, False),
        ("Xác nhận người lao động nước ngoài không thuộc diện cấp giấy phép lao động", None, False),
        ("Cấp giấy phép hoạt động dịch vụ việc làm của doanh nghiệp", None, False),
        ("Cấp giấy phép hoạt động cho thuê lại lao động", None, False),
        ("Đăng ký nội quy lao động của doanh nghiệp", None, False),
        ("Giải quyết chế độ ưu đãi đối với thân nhân liệt sĩ", None, False),
        ("Cấp giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp", None, False),
        ("Thành lập cơ sở trợ giúp xã hội ngoài công lập", None, False),
    ],
    "SCT": [
        ("Cấp Giấy phép bán buôn rượu", None, False),
        ("Cấp Giấy phép bán buôn sản phẩm thuốc lá", None, False),
        ("Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", None, False),
        ("Cấp Giấy phép kinh doanh cho tổ chức kinh tế có vốn đầu tư nước ngoài", None, False),
        ("Cấp Giấy phép hoạt động điện lực", None, False),
        ("Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm thuộc ngành Công Thương", None, False),
        ("Đăng ký tổ chức hội chợ, triển lãm thương mại", None, False),
        ("Đăng ký thực hiện khuyến mại", None, False),
        ("Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán LPG chai", None, False),
        ("Cấp Giấy phép sản xuất rượu công nghiệp", None, False),
    ],
    "SNNPTNT": [
        ("Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản", None, False),
        ("Cấp giấy chứng nhận đủ điều kiện buôn bán thuốc bảo vệ thực vật", None, False),
        ("Cấp giấy chứng nhận đủ điều kiện buôn bán phân bón", None, False),
        ("Cấp giấy chứng nhận đủ điều kiện buôn bán thuốc thú y", None, False),
        ("Kiểm dịch động vật, sản phẩm động vật vận chuyển ra khỏi địa bàn tỉnh", None, False),
        ("Cấp giấy chứng nhận cơ sở an toàn dịch bệnh động vật", None, False),
        ("Cấp giấy phép hoạt động trong phạm vi bảo vệ công trình thủy lợi", None, False),
        ("Cấp chứng chỉ hành nghề thú y", None, False),
        ("Công nhận làng nghề, làng nghề truyền thống", OFFLINE, False),
        ("Cấp phép cho các hoạt động liên quan đến đê điều", None, False),
    ],
    "STC": [
        ("Cấp mã số đơn vị có quan hệ với ngân sách", None, False),
        ("Quyết toán dự án hoàn thành sử dụng vốn ngân sách nhà nước", None, False),
        ("Xác lập quyền sở hữu toàn dân về tài sản", OFFLINE, False),
        ("Thanh lý tài sản công", None, False),
        ("Điều chuyển tài sản công", None, False),
        ("Đăng ký giá của doanh nghiệp thuộc phạm vi cấp tỉnh", None, False),
    ],
    "SNV": [
        ("Thành lập hội", None, False),
        ("Phê duyệt điều lệ hội", None, False),
        ("Công nhận ban vận động thành lập hội", None, False),
        ("Cấp giấy phép thành lập và công nhận điều lệ quỹ xã hội, quỹ từ thiện", None, False),
        ("Thi tuyển công chức", OFFLINE, False),
        ("Xét tuyển viên chức", OFFLINE, False),
        ("Đăng ký sinh hoạt tôn giáo tập trung", None, False),
        ("Tặng Bằng khen của Chủ tịch Ủy ban nhân dân tỉnh", None, False),
        ("Phục vụ việc sử dụng tài liệu của độc giả tại phòng đọc", None, False),
    ],
    "SVHTTDL": [
        ("Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa", None, False),
        ("Công nhận hạng cơ sở lưu trú du lịch 1 sao, 2 sao, 3 sao", None, False),
        ("Cấp thẻ hướng dẫn viên du lịch", None, False),
        ("Thông báo tổ chức lễ hội cấp tỉnh", None, False),
        ("Tổ chức biểu diễn nghệ thuật trên địa bàn tỉnh", None, False),
        ("Cấp giấy phép thành lập bảo tàng ngoài công lập", None, False),
        ("Cấp giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao", None, False),
        ("Cấp phép nhập khẩu văn hóa phẩm không nhằm mục đích kinh doanh", None, False),
        ("Cấp giấy phép triển lãm mỹ thuật", None, False),
    ],
    "SKHCN": [
        ("Cấp giấy phép tiến hành công việc bức xạ sử dụng thiết bị X-quang chẩn đoán y tế", None, False),
        ("Cấp chứng chỉ nhân viên bức xạ", None, False),
        ("Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ", None, False),
        ("Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ", None, False),
        ("Đăng ký hợp đồng chuyển giao công nghệ", None, False),
        ("Tiếp nhận bản công bố hợp quy", None, False),
    ],
    "STTTT": [
        ("Cấp giấy phép xuất bản bản tin", None, False),
        ("Cấp giấy phép hoạt động in", None, False),
        ("Xác nhận đăng ký hoạt động cơ sở in", None, False),
        ("Cấp giấy phép nhập khẩu xuất bản phẩm không kinh doanh", None, False),
        ("Cấp giấy phép thiết lập trang thông tin điện tử tổng hợp", None, False),
        ("Cấp giấy phép tổ chức triển lãm, hội chợ xuất bản phẩm", None, False),
    ],
    "BQLKCN": [
        ("Cấp Giấy chứng nhận đăng ký đầu tư đối với dự án trong khu công nghiệp", None, False),
        ("Điều chỉnh Giấy chứng nhận đăng ký đầu tư đối với dự án trong khu công nghiệp", None, False),
        ("Cấp giấy phép lao động cho người nước ngoài làm việc trong khu công nghiệp", None, False),
        ("Cấp giấy phép xây dựng công trình trong khu công nghiệp", None, False),
        ("Đăng ký nội quy lao động của doanh nghiệp trong khu công nghiệp", None, False),
        ("Chấm dứt hoạt động dự án đầu tư trong khu công nghiệp", None, False),
    ],
    "TTT": [
        ("Tiếp công dân tại cấp tỉnh", OFFLINE, False),
        ("Giải quyết khiếu nại lần hai tại cấp tỉnh", OFFLINE, False),
        ("Giải quyết tố cáo tại cấp tỉnh", OFFLINE, False),
        ("Xử lý đơn tại cấp tỉnh", None, False),
    ],
    "CAT": [
        ("Cấp, đổi, cấp lại thẻ Căn cước công dân", PARTIAL, True),
        ("Xác nhận số Chứng minh nhân dân, Căn cước công dân", FULL, True),
        ("Cấp hộ chiếu phổ thông ở trong nước", PARTIAL, True),
        ("Đăng ký, cấp biển số xe", PARTIAL, True),
        ("Tiếp nhận tố giác, tin báo về tội phạm và kiến nghị khởi tố", FULL, True),
        ("Cấp giấy chứng nhận đủ điều kiện về an ninh, trật tự để kinh doanh ngành, nghề có điều kiện", None, False),
        ("Cấp giấy phép sử dụng công cụ hỗ trợ", None, False),
        ("Thẩm duyệt thiết kế về phòng cháy và chữa cháy", None, False),
        ("Kiểm tra kết quả nghiệm thu về phòng cháy và chữa cháy", None, False),
        ("Cấp giấy phép vận chuyển hàng hóa nguy hiểm là chất độc hại, chất lây nhiễm", None, False),
    ],
    "BHXH": [
        ("Cấp lại, đổi, điều chỉnh thông tin trên thẻ bảo hiểm y tế", FULL, True),
        ("Gia hạn thẻ bảo hiểm y tế theo hộ gia đình", None, False),
        ("Đăng ký tham gia bảo hiểm xã hội tự nguyện", None, False),
        ("Giải quyết hưởng chế độ thai sản", None, False),
        ("Giải quyết hưởng lương hưu", None, False),
        ("Giải quyết hưởng bảo hiểm xã hội một lần", None, False),
        ("Đăng ký đóng bảo hiểm xã hội bắt buộc, bảo hiểm y tế cho người lao động", None, False),
    ],
    "CT": [
        ("Nộp thuế thu nhập cá nhân", FULL, True),
        ("Đăng ký thuế lần đầu đối với cá nhân", None, False),
        ("Quyết toán thuế thu nhập cá nhân", None, False),
        ("Hoàn thuế giá trị gia tăng", None, False),
        ("Khai lệ phí trước bạ nhà, đất", None, False),
        ("Đăng ký sử dụng hóa đơn điện tử", None, False),
        ("Gia hạn nộp thuế", None, False),
    ],
}

DISTRICT_PROCEDURES: list[Row] = [
    ("Cấp giấy phép xây dựng nhà ở riêng lẻ", PARTIAL, True),
    ("Cấp giấy phép sửa chữa, cải tạo nhà ở riêng lẻ", None, False),
    ("Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho hộ gia đình, cá nhân", PARTIAL, True),
    ("Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", PARTIAL, True),
    ("Chuyển mục đích sử dụng đất đối với hộ gia đình, cá nhân", None, False),
    ("Cấp đổi Giấy chứng nhận quyền sử dụng đất", None, False),
    ("Đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất", None, False),
    ("Xóa đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất", None, False),
    ("Đăng ký thành lập hộ kinh doanh", None, False),
    ("Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", None, False),
    ("Thông báo tạm ngừng kinh doanh của hộ kinh doanh", None, False),
    ("Đăng ký thành lập hợp tác xã", None, False),
    ("Cấp Giấy phép bán lẻ rượu", None, False),
    ("Cấp Giấy phép bán lẻ sản phẩm thuốc lá", None, False),
    ("Cấp giấy phép kinh doanh dịch vụ karaoke", None, False),
    ("Đăng ký khai sinh có yếu tố nước ngoài", None, False),
    ("Đăng ký kết hôn có yếu tố nước ngoài", None, False),
    ("Đăng ký khai tử có yếu tố nước ngoài", None, False),
    ("Thay đổi, cải chính, bổ sung thông tin hộ tịch cho người từ đủ 14 tuổi trở lên", None, False),
    ("Chứng thực bản sao từ bản chính giấy tờ do cơ quan có thẩm quyền của nước ngoài cấp", None, False),
    ("Chứng thực chữ ký trong các giấy tờ, văn bản bằng tiếng nước ngoài", None, False),
    ("Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản", None, False),
    ("Thành lập trường mầm non, trường tiểu học, trường trung học cơ sở công lập", None, False),
    ("Chuyển trường đối với học sinh trung học cơ sở", None, False),
    ("Cho phép thành lập nhóm trẻ, lớp mẫu giáo độc lập", None, False),
    ("Cấp giấy chứng nhận cơ sở kinh doanh dịch vụ ăn uống đủ điều kiện an toàn thực phẩm", None, False),
    ("Thực hiện trợ cấp xã hội hàng tháng đối với đối tượng bảo trợ xã hội", None, False),
    ("Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", None, False),
    ("Tiếp nhận đối tượng bảo trợ xã hội vào cơ sở trợ giúp xã hội cấp huyện", None, False),
    ("Cấp giấy chứng nhận đủ điều kiện hoạt động điểm cung cấp dịch vụ trò chơi điện tử công cộng", None, False),
    ("Thẩm định báo cáo kinh tế - kỹ thuật đầu tư xây dựng", None, False),
    ("Tiếp công dân tại cấp huyện", OFFLINE, False),
    ("Giải quyết khiếu nại lần đầu tại cấp huyện", OFFLINE, False),
]

COMMUNE_PROCEDURES: list[Row] = [
    ("Đăng ký khai sinh", FULL, True),
    ("Đăng ký khai tử", FULL, True),
    ("Đăng ký kết hôn", PARTIAL, True),
    ("Cấp Giấy xác nhận tình trạng hôn nhân", FULL, True),
    ("Đăng ký thường trú", FULL, True),
    ("Đăng ký tạm trú", FULL, True),
    ("Khai báo tạm vắng", FULL, True),
    ("Thông báo lưu trú", FULL, True),
    ("Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi", FULL, True),
    (
        "Liên thông đăng ký khai tử, xóa đăng ký thường trú, hưởng chế độ tử tuất, hỗ trợ chi phí mai táng",
        PARTIAL,
        True,
    ),
    ("Đăng ký nhận cha, mẹ, con", None, False),
    ("Đăng ký khai sinh kết hợp nhận cha, mẹ, con", None, False),
    ("Đăng ký lại khai sinh", None, False),
    ("Đăng ký lại kết hôn", None, False),
    ("Đăng ký lại khai tử", None, False),
    ("Đăng ký giám hộ", None, False),
    ("Đăng ký chấm dứt giám hộ", None, False),
    ("Thay đổi, cải chính, bổ sung thông tin hộ tịch", None, False),
    ("Cấp bản sao trích lục hộ tịch", None, False),
    ("Chứng thực bản sao từ bản chính giấy tờ, văn bản", None, False),
    ("Chứng thực chữ ký trong các giấy tờ, văn bản", None, False),
    ("Chứng thực hợp đồng, giao dịch liên quan đến nhà ở", None, False),
    ("Chứng thực di chúc", None, False),
    ("Xóa đăng ký thường trú", None, False),
    ("Xóa đăng ký tạm trú", None, False),
    ("Gia hạn tạm trú", None, False),
    ("Xác nhận thông tin về cư trú", None, False),
    ("Thông báo danh mục hoạt động tín ngưỡng", None, False),
    ("Xác định hộ gia đình làm nông nghiệp, lâm nghiệp, ngư nghiệp có mức sống trung bình", None, False),
    ("Công nhận hộ nghèo, hộ cận nghèo phát sinh trong năm", None, False),
    ("Xét tặng danh hiệu Gia đình văn hóa", None, False),
    ("Hòa giải tranh chấp đất đai", OFFLINE, False),
    ("Kê khai hoạt động chăn nuôi", None, False),
    ("Tiếp công dân tại cấp xã", OFFLINE, False),
]

SHARES = {FULL: 0.30, PARTIAL: 0.55, OFFLINE: 0.15}


def commune_name(raw: str) -> str:
    """Spell out the prefix: phường, thị trấn or xã."""
    if raw.startswith("P "):
        return "Phường " + raw[2:]
    if raw.startswith("T "):
        return "Thị trấn " + raw[2:]
    return "Xã " + raw


def commune_kind(raw: str) -> str | None:
    """The kind of a 2024 commune, None for the default (xã)."""
    return {"P ": "ward", "T ": "township"}.get(raw[:2])


Node = dict[str, object]


def node(code: str, name: str, level: str, **extra: object) -> Node:
    """A unit mapping with the optional keys only when set, in a readable order."""
    return {"code": code, "name": name, "level": level} | {k: v for k, v in extra.items() if v not in (None, [])}


def haiduong_2024(successors: dict[str, str] | None = None) -> Node:
    """The Hải Dương 2024 tree; with `successors` (old code -> new code) it ends on 30 June 2025."""
    province, province_name = PROVINCE
    history = successors is not None
    after = successors or {}
    children: list[Node] = [
        node(
            f"{province}.{code}",
            name,
            "department",
            successor=after.get(f"{province}.{code}"),
            aliases=[f"000.00.{i:02d}.H23"],
        )
        for i, (code, name) in enumerate(DEPARTMENTS, start=1)
    ]
    for code, name, communes in DISTRICTS:
        district = f"{province}.{code}"
        members = [
            node(f"{district}.{i:02d}", commune_name(raw), "commune", kind=commune_kind(raw),
                 successor=after.get(f"{district}.{i:02d}"))
            for i, raw in enumerate(communes, start=1)
        ]  # fmt: skip
        children.append(node(district, name, "district", children=members))
    return node(
        province,
        province_name,
        "province",
        valid_to=LAST_DAY_BEFORE if history else None,
        successor=NEW_PROVINCE[0] if history else None,
        aliases=["H23", "000.00.00.H23"],
        children=children,
    )


def haiphong_2025() -> tuple[Node, dict[str, str], list[str]]:
    """Today's Hải Phòng tree, the successor of every Hải Dương 2024 unit, and the successors that are guesses."""
    province, province_name = NEW_PROVINCE
    successors: dict[str, str] = {PROVINCE[0]: province}
    children: list[Node] = []
    for suffix, name, old_departments in BODIES:
        code = f"{province}.{suffix}"
        children.append(node(code, name, "department", aliases=[f"000.00.{suffix}.{province}"]))
        successors.update({f"{PROVINCE[0]}.{old}": code for old in old_departments})

    units: list[tuple[str, str, str | None, list[str]]] = [(k, n, None, []) for k, n in OLD_HAIPHONG]
    units += [(k, n, home, refs) for k, n, home, refs in OLD_HAIDUONG]
    units += [(SPECIAL_ZONE, n, None, []) for n in SPECIAL_ZONES]
    prefix = {WARD: "Phường", SPECIAL_ZONE: "Đặc khu"}
    old_communes = {
        (district, raw): f"{PROVINCE[0]}.{district}.{i:02d}"
        for district, _, communes in DISTRICTS
        for i, raw in enumerate(communes, start=1)
    }
    # old commune -> [(new code, new name, new home district)], in the order the breakdown lists them
    candidates: dict[str, list[tuple[str, str, str | None]]] = {}
    by_home: dict[str, list[str]] = {}
    for number, (kind, name, home, refs) in enumerate(units, start=100):
        code = f"{province}.{number}"
        children.append(
            node(
                code,
                f"{prefix.get(kind, 'Xã')} {name}",
                "commune",
                kind=kind if kind != "commune" else None,
                aliases=[f"{number}.00.00.{province}", f"emc-{province.lower()}-{number}"],
            )
        )
        if home is not None:
            by_home.setdefault(home, []).append(code)
        for ref in refs:
            district, raw = ref.split(":", 1)
            if (district, raw) in old_communes:
                candidates.setdefault(old_communes[(district, raw)], []).append((code, name, home))

    guessed: list[str] = []
    spread = {home: itertools.cycle(codes) for home, codes in by_home.items()}
    for (district, raw), old in old_communes.items():
        options = candidates.get(old)
        if not options:
            successors[old] = next(spread[district])
            guessed.append(old)
            continue
        # A split commune keeps one successor: the one named like it, else the first in its own district.
        same_name = [c for c, n, _ in options if n == raw.removeprefix("P ").removeprefix("T ")]
        same_home = [c for c, _, h in options if h == district]
        successors[old] = (same_name or same_home or [options[0][0]])[0]
    tree = node(
        province,
        province_name,
        "province",
        valid_from=MERGED_ON,
        aliases=[f"000.00.00.{province}"],
        children=children,
    )
    return tree, successors, guessed


def procedure_rows() -> list[dict[str, str]]:
    """One CSV row per procedure, with service levels spread to the target shares."""
    rows: list[tuple[str, str, str, str, str | None, bool]] = []
    for dept, procedures in DEPARTMENT_PROCEDURES.items():
        for i, (name, level, essential) in enumerate(procedures, start=1):
            rows.append((f"TTHC.{dept}.{i:03d}", name, "department", f"HD.{dept}", level, essential))
    for i, (name, level, essential) in enumerate(DISTRICT_PROCEDURES, start=1):
        rows.append((f"TTHC.HUYEN.{i:03d}", name, "district", "", level, essential))
    for i, (name, level, essential) in enumerate(COMMUNE_PROCEDURES, start=1):
        rows.append((f"TTHC.XA.{i:03d}", name, "commune", "", level, essential))

    fixed = [row[4] for row in rows if row[4] is not None]
    free = [i for i, row in enumerate(rows) if row[4] is None]
    pool: list[str] = []
    for level, share in SHARES.items():
        pool += [level] * max(0, round(share * len(rows)) - fixed.count(level))
    pool += [PARTIAL] * (len(free) - len(pool))
    random.Random(6).shuffle(pool)
    levels = dict(zip(free, pool, strict=True))
    return [
        {
            "code": code,
            "name": name,
            "unit_level": unit_level,
            "department": department,
            "service_level": level or levels[i],
            "essential": "true" if essential else "false",
        }
        for i, (code, name, unit_level, department, level, essential) in enumerate(rows)
    ]


def dump(document: object) -> str:
    """YAML in the committed style: one line per leaf unit."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)


def main() -> None:
    """Write `sample_units.yaml`, `sample_units_haiduong_2024.yaml` and `sample_procedures.csv`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="Output folder (default: shared/refdata).")
    out = parser.parse_args().out

    haiphong, successors, guessed = haiphong_2025()
    header = (
        "# Sample unit tree: today's Hải Phòng city (H24, since 1 July 2025: 16 bodies, 114 commune-level units:\n"
        "# 67 communes, 45 wards, 2 special zones) and, as its predecessor until 30 June 2025, the Hải Dương 2024\n"
        "# tree (HD, alias H23). Generated by deploy/refdata/generate_sample.py (sources in haiphong_2025.py).\n"
        "# Hải Phòng's own pre-2025 districts and communes are not included.\n"
        "# sample: unit names are real (Nghị quyết 1669/NQ-UBTVQH15); the codes H24.NN / H24.NNN only follow the\n"
        "# national portal's format, their numbers are invented, and so are all aliases (agency codes\n"
        "# 000.00.NN.H24 / 000.00.NN.H23, dossier-code prefixes NNN.00.00.H24, EMC SiteIds emc-h24-NNN).\n"
        "# sample: successors of old communes follow the public breakdown of the resolution where it names them;\n"
        "# a commune split between several new units keeps one successor. These successors are guesses (same\n"
        "# district, no public mapping for the sample's name):\n"
    )
    header += "".join(f"#   {line}\n" for line in _wrap(guessed))
    body = dump([haiphong, haiduong_2024(successors)])
    (out / "sample_units.yaml").write_text(header + body, encoding="utf-8")

    header = (
        "# Sample unit tree shaped like Hai Duong province (before the 2025 merger): 1 province, 20 departments,\n"
        "# 12 district-level units, 235 communes. Generated by deploy/refdata/generate_sample.py.\n"
        "# sample: aliases (agency codes 000.00.NN.H23) are invented.\n"
    )
    (out / "sample_units_haiduong_2024.yaml").write_text(header + dump(haiduong_2024()), encoding="utf-8")

    rows = procedure_rows()
    with (out / "sample_procedures.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _wrap(codes: list[str], width: int = 110) -> list[str]:
    lines: list[str] = []
    for code in codes:
        if lines and len(lines[-1]) + len(code) + 2 <= width:
            lines[-1] += f", {code}"
        else:
            lines.append(code)
    return lines


if __name__ == "__main__":
    main()
