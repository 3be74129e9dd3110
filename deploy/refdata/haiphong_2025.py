"""Today's Hải Phòng city (since 1 July 2025) for the sample unit tree: its bodies, its 114 commune-level units,
and which Hải Dương 2024 units each one took over.

Names of the 114 units: Nghị quyết 1669/NQ-UBTVQH15 (16 June 2025) as reproduced by public pages and by the
list of Hải Phòng's units in the 2025 regional minimum-wage decree; 67 communes, 45 wards, 2 special zones.
Which old communes formed each new one: the public breakdown of that resolution, reduced to the old communes
the 2024 sample knows. Everything else is invented and marked `sample` where it is written out: the codes
(`H24.NN`, `H24.NNN` only follow the national portal's format), the aliases, and the successor of any old
commune the breakdown does not name.
"""

from __future__ import annotations

# (code suffix, name, the Hải Dương 2024 departments it took over). Decree 45/2025's 12 bodies, the economic-zone
# board and vertical agencies. Numbers invented; the portal lists Phú Thọ's bodies in a similar order.
BODIES: list[tuple[str, str, list[str]]] = [
    ("01", "Văn phòng Ủy ban nhân dân thành phố", []),
    ("02", "Ban Quản lý Khu kinh tế Hải Phòng", ["BQLKCN"]),
    ("03", "Sở Công Thương", ["SCT"]),
    ("04", "Sở Giáo dục và Đào tạo", ["SGDDT"]),
    ("05", "Sở Khoa học và Công nghệ", ["SKHCN", "STTTT"]),
    ("06", "Sở Nội vụ", ["SNV", "SLDTBXH"]),
    ("07", "Sở Nông nghiệp và Môi trường", ["SNNPTNT", "STNMT"]),
    ("08", "Sở Tài chính", ["STC", "SKHDT"]),
    ("09", "Sở Tư pháp", ["STP"]),
    ("10", "Sở Văn hóa, Thể thao và Du lịch", ["SVHTTDL"]),
    ("11", "Sở Xây dựng", ["SXD", "SGTVT"]),
    ("12", "Sở Y tế", ["SYT"]),
    ("13", "Thanh tra thành phố", ["TTT"]),
    ("14", "Công an thành phố Hải Phòng", ["CAT"]),
    ("15", "Thuế thành phố Hải Phòng", ["CT"]),
    ("16", "Bảo hiểm xã hội thành phố Hải Phòng", ["BHXH"]),
]

WARD, COMMUNE, SPECIAL_ZONE = "ward", "commune", "special_zone"

# The 50 units on Hải Phòng's own pre-2025 territory. Their predecessors (Hải Phòng's old districts and
# communes) are not part of the sample.
OLD_HAIPHONG: list[tuple[str, str]] = [
    (WARD, "Thủy Nguyên"), (WARD, "Thiên Hương"), (WARD, "Hòa Bình"), (WARD, "Nam Triệu"), (WARD, "Bạch Đằng"),
    (WARD, "Lưu Kiếm"), (WARD, "Lê Ích Mộc"), (WARD, "Hồng Bàng"), (WARD, "Hồng An"), (WARD, "Ngô Quyền"),
    (WARD, "Gia Viên"), (WARD, "Lê Chân"), (WARD, "An Biên"), (WARD, "Hải An"), (WARD, "Đông Hải"),
    (WARD, "Kiến An"), (WARD, "Phù Liễn"), (WARD, "Nam Đồ Sơn"), (WARD, "Đồ Sơn"), (WARD, "Hưng Đạo"),
    (WARD, "Dương Kinh"), (WARD, "An Dương"), (WARD, "An Hải"), (WARD, "An Phong"),
    (COMMUNE, "An Hưng"), (COMMUNE, "An Khánh"), (COMMUNE, "An Quang"), (COMMUNE, "An Trường"),
    (COMMUNE, "An Lão"), (COMMUNE, "Kiến Thụy"), (COMMUNE, "Kiến Minh"), (COMMUNE, "Kiến Hải"),
    (COMMUNE, "Kiến Hưng"), (COMMUNE, "Nghi Dương"), (COMMUNE, "Quyết Thắng"), (COMMUNE, "Tiên Lãng"),
    (COMMUNE, "Tân Minh"), (COMMUNE, "Tiên Minh"), (COMMUNE, "Chấn Hưng"), (COMMUNE, "Hùng Thắng"),
    (COMMUNE, "Vĩnh Bảo"), (COMMUNE, "Nguyễn Bỉnh Khiêm"), (COMMUNE, "Vĩnh Am"), (COMMUNE, "Vĩnh Hải"),
    (COMMUNE, "Vĩnh Hòa"), (COMMUNE, "Vĩnh Thịnh"), (COMMUNE, "Vĩnh Thuận"), (COMMUNE, "Việt Khê"),
]  # fmt: skip

SPECIAL_ZONES: list[str] = ["Cát Hải", "Bạch Long Vĩ"]

# The 64 units on Hải Dương's territory: (kind, name, home district of the 2024 sample, the old communes it
# took over as "DISTRICT:raw name" in the 2024 generator's spelling: "P " phường, "T " thị trấn, else xã).
# An old commune split between several new units appears in each; the generator keeps one successor, the
# first in its own district.
OLD_HAIDUONG: list[tuple[str, str, str, list[str]]] = [
    (WARD, "Hải Dương", "HDG", ["HDG:P Trần Hưng Đạo", "HDG:P Nhị Châu", "HDG:P Ngọc Châu", "HDG:P Quang Trung"]),
    (WARD, "Lê Thanh Nghị", "HDG", ["HDG:P Tân Bình", "HDG:P Thanh Bình", "HDG:P Lê Thanh Nghị", "HDG:P Trần Phú"]),
    (WARD, "Việt Hòa", "HDG", ["HDG:P Việt Hòa", "CG:Cao An", "HDG:P Tứ Minh", "CG:T Lai Cách"]),
    (WARD, "Thành Đông", "HDG", ["HDG:P Cẩm Thượng", "HDG:P Bình Hàn", "HDG:P Nguyễn Trãi", "HDG:An Thượng"]),
    (WARD, "Nam Đồng", "HDG", ["HDG:P Nam Đồng", "HDG:Tiền Tiến"]),
    (WARD, "Tân Hưng", "HDG", ["HDG:P Hải Tân", "HDG:P Tân Hưng", "HDG:Ngọc Sơn", "HDG:P Trần Phú"]),
    (WARD, "Thạch Khôi", "HDG", ["HDG:P Thạch Khôi", "HDG:Gia Xuyên", "HDG:Liên Hồng", "GL:Thống Nhất"]),
    (WARD, "Tứ Minh", "HDG", ["CG:Cẩm Đoài", "HDG:P Tứ Minh", "CG:T Lai Cách"]),
    (WARD, "Ái Quốc", "HDG", ["HDG:P Ái Quốc", "HDG:Quyết Thắng", "TH:Hồng Lạc"]),
    (WARD, "Chu Văn An", "CL", ["CL:P Sao Đỏ", "CL:P Văn An", "CL:P Chí Minh", "CL:P Thái Học", "CL:P Cộng Hòa",
                                "CL:P Văn Đức"]),
    (WARD, "Chí Linh", "CL", ["CL:P Phả Lại", "CL:P Cổ Thành", "CL:Nhân Huệ"]),
    (WARD, "Trần Hưng Đạo", "CL", ["CL:Lê Lợi", "CL:Hưng Đạo", "CL:P Cộng Hòa"]),
    (WARD, "Nguyễn Trãi", "CL", ["CL:P Bến Tắm", "CL:Bắc An", "CL:Hoàng Hoa Thám"]),
    (WARD, "Trần Nhân Tông", "CL", ["CL:P Hoàng Tân", "CL:P Hoàng Tiến", "CL:P Văn Đức"]),
    (WARD, "Lê Đại Hành", "CL", ["CL:P Tân Dân", "CL:P An Lạc", "CL:P Đồng Lạc"]),
    (WARD, "Kinh Môn", "KM", ["KM:P An Lưu", "KM:P Hiệp An", "KM:P Long Xuyên"]),
    (WARD, "Nguyễn Đại Năng", "KM", ["KM:P Thái Thịnh", "KM:P Hiến Thành", "KM:Minh Hòa"]),
    (WARD, "Trần Liễu", "KM", ["KM:P An Phụ", "KM:Hiệp Hòa", "KM:Thượng Quận"]),
    (WARD, "Bắc An Phụ", "KM", ["KM:P Thất Hùng", "KM:Bạch Đằng", "KM:Lê Ninh"]),
    (WARD, "Phạm Sư Mạnh", "KM", ["KM:P Phạm Thái", "KM:P An Sinh", "KM:P Hiệp Sơn"]),
    (WARD, "Nhị Chiểu", "KM", ["KM:P Tân Dân", "KM:P Minh Tân", "KM:P Duy Tân", "KM:P Phú Thứ"]),
    (COMMUNE, "Nam An Phụ", "KM", ["KM:Quang Thành", "KM:Lạc Long", "KM:Thăng Long", "KT:Tuấn Việt",
                                   "KT:Cộng Hòa"]),
    (COMMUNE, "Nam Sách", "NS", ["NS:T Nam Sách", "NS:Hồng Phong", "NS:Đồng Lạc"]),
    (COMMUNE, "Thái Tân", "NS", ["NS:Minh Tân", "NS:An Sơn", "NS:Thái Tân"]),
    (COMMUNE, "Trần Phú", "NS", ["NS:Quốc Tuấn", "NS:Hiệp Cát", "NS:Trần Phú"]),
    (COMMUNE, "Hợp Tiến", "NS", ["NS:Nam Hưng", "NS:Nam Tân", "NS:Hợp Tiến"]),
    (COMMUNE, "An Phú", "NS", ["NS:An Bình", "NS:Cộng Hòa"]),
    (COMMUNE, "Thanh Hà", "TH", ["TH:T Thanh Hà", "TH:Thanh Sơn", "TH:Thanh Tân"]),
    (COMMUNE, "Hà Tây", "TH", ["TH:Tân An", "TH:An Phượng", "TH:Thanh Hải"]),
    (COMMUNE, "Hà Bắc", "TH", ["TH:Tân Việt", "TH:Hồng Lạc"]),
    (COMMUNE, "Hà Nam", "TH", ["TH:Liên Mạc", "TH:Thanh Lang", "TH:Thanh An"]),
    (COMMUNE, "Hà Đông", "TH", ["TH:Thanh Hồng", "TH:Vĩnh Cường", "TH:Thanh Quang"]),
    (COMMUNE, "Mao Điền", "CG", ["CG:Tân Trường", "CG:Cẩm Đông"]),
    (COMMUNE, "Cẩm Giàng", "CG", ["CG:Lương Điền", "CG:Ngọc Liên", "CG:Cẩm Hưng"]),
    (COMMUNE, "Cẩm Giang", "CG", ["CG:T Cẩm Giang", "CG:Định Sơn", "CG:Cẩm Hoàng"]),
    (COMMUNE, "Tuệ Tĩnh", "CG", ["CG:Đức Chính", "CG:Cẩm Vũ", "CG:Cẩm Văn"]),
    (COMMUNE, "Kẻ Sặt", "BG", ["BG:Vĩnh Hưng", "BG:Hùng Thắng", "BG:T Kẻ Sặt", "BG:Vĩnh Hồng"]),
    (COMMUNE, "Bình Giang", "BG", ["BG:Tân Việt", "BG:Long Xuyên", "BG:Hồng Khê", "BG:Cổ Bì"]),
    (COMMUNE, "Đường An", "BG", ["BG:Thúc Kháng", "BG:Tân Hồng", "BG:Thái Dương", "BG:Thái Hòa"]),
    (COMMUNE, "Thượng Hồng", "BG", ["BG:Bình Xuyên", "TM:Thanh Tùng", "TM:Đoàn Tùng"]),
    (COMMUNE, "Gia Lộc", "GL", ["GL:T Gia Lộc", "GL:Gia Phúc", "GL:Yết Kiêu", "GL:Lê Lợi"]),
    (COMMUNE, "Yết Kiêu", "GL", ["GL:Thống Nhất", "GL:Lê Lợi", "GL:Yết Kiêu"]),
    (COMMUNE, "Gia Phúc", "GL", ["GL:Toàn Thắng", "GL:Hoàng Diệu", "GL:Hồng Hưng", "GL:Thống Kênh",
                                 "GL:Đoàn Thượng"]),
    (COMMUNE, "Trường Tân", "GL", ["GL:Phạm Trấn", "GL:Nhật Quang", "GL:Thống Kênh", "GL:Đoàn Thượng"]),
    (COMMUNE, "Tứ Kỳ", "TK", ["TK:T Tứ Kỳ", "TK:Minh Đức", "TK:Quang Khải", "TK:Quang Phục"]),
    (COMMUNE, "Tân Kỳ", "TK", ["TK:Đại Hợp", "TK:Tân Kỳ", "TK:Kỳ Sơn", "TK:Hưng Đạo"]),
    (COMMUNE, "Đại Sơn", "TK", ["TK:Bình Lãng", "TK:Hưng Đạo"]),
    (COMMUNE, "Chí Minh", "TK", ["TK:An Thanh", "TK:Văn Tố", "TK:Chí Minh"]),
    (COMMUNE, "Lạc Phượng", "TK", ["TK:Quang Trung", "TK:Tiên Động"]),
    (COMMUNE, "Nguyên Giáp", "TK", ["TK:Hà Kỳ", "TK:Nguyên Giáp", "TK:Hà Thanh", "TK:Tiên Động"]),
    (COMMUNE, "Ninh Giang", "NG", ["NG:T Ninh Giang", "NG:Vĩnh Hòa", "NG:Hồng Dụ", "NG:Hiệp Lực"]),
    (COMMUNE, "Vĩnh Lại", "NG", ["NG:Ứng Hòe", "NG:Tân Hương", "NG:Nghĩa An"]),
    (COMMUNE, "Khúc Thừa Dụ", "NG", ["NG:Hồng Phong"]),
    (COMMUNE, "Tân An", "NG", ["NG:Tân Phong", "NG:An Đức"]),
    (COMMUNE, "Hồng Châu", "NG", ["NG:Tân Quang", "NG:Văn Hội", "NG:Hưng Long"]),
    (COMMUNE, "Thanh Miện", "TM", ["TM:Cao Thắng", "TM:Ngũ Hùng", "TM:Tứ Cường", "TM:T Thanh Miện"]),
    (COMMUNE, "Bắc Thanh Miện", "TM", ["TM:Hồng Quang", "TM:Lam Sơn", "TM:Lê Hồng"]),
    (COMMUNE, "Hải Hưng", "TM", ["TM:Tân Trào", "TM:Ngô Quyền", "TM:Đoàn Kết"]),
    (COMMUNE, "Nguyễn Lương Bằng", "TM", ["TM:Phạm Kha", "BG:Nhân Quyền", "TM:Thanh Tùng", "TM:Đoàn Tùng"]),
    (COMMUNE, "Nam Thanh Miện", "TM", ["TM:Hồng Phong", "TM:Thanh Giang", "TM:Chi Lăng Bắc", "TM:Chi Lăng Nam"]),
    (COMMUNE, "Phú Thái", "KT", ["KT:T Phú Thái", "KT:Kim Xuyên", "KT:Kim Anh", "KT:Kim Liên"]),
    (COMMUNE, "Lai Khê", "KT", ["KT:Lai Khê", "KT:Tuấn Việt", "KT:Cộng Hòa"]),
    (COMMUNE, "An Thành", "KT", ["KT:Ngũ Phúc", "KT:Kim Tân", "KT:Kim Đính"]),
    (COMMUNE, "Kim Thành", "KT", ["KT:Đồng Cẩm", "KT:Tam Kỳ", "KT:Đại Đức", "KT:Hòa Bình"]),
]  # fmt: skip
