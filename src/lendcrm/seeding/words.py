"""Word lists for the synthetic bank: Chinese and English names, places, industries, subjects."""


def _table(text: str) -> list[tuple[str, ...]]:
    """Lists are written as `a:b|c:d` to keep them short."""
    return [tuple(item.strip().split(":")) for item in text.split("|")]


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _table(
    "Wang:王|Li:李|Zhang:张|Liu:刘|Chen:陈|Yang:杨|Zhao:赵|Huang:黄|Zhou:周|Wu:吴|Xu:徐|Sun:孙|"
    "Hu:胡|Zhu:朱|"
    "Gao:高|Lin:林|He:何|Guo:郭|Ma:马|Luo:罗|Liang:梁|Song:宋|Zheng:郑|Xie:谢|Han:韩|Tang:唐|Feng:冯|Yu:于|"
    "Dong:董|Cheng:程|Cao:曹|Yuan:袁|Deng:邓|Peng:彭|Jiang:江|Su:苏|Lu:陆|Pan:潘|Du:杜|Ye:叶"
)
GIVEN = _table(
    "Wei:伟|Fang:芳|Na:娜|Min:敏|Jing:静|Li:丽|Qiang:强|Lei:磊|Jun:军|Yang:洋|Yong:勇|Yan:艳|"
    "Jie:杰|Juan:娟|"
    "Tao:涛|Ming:明|Chao:超|Xiu:秀|Xia:霞|Ping:平|Gang:刚|Hui:慧|Hua:华|Hong:红|Bo:博|Yu:宇|Hao:浩|Xin:欣|"
    "Ting:婷|Ning:宁|Lan:兰|Feng:峰|Jian:建|Guo:国|Zhi:志|Wen:文|Hai:海|Yun:云|Peng:鹏|Dan:丹"
)
SYLLABLES = _table(
    "hua:华|xin:鑫|tai:泰|feng:丰|rui:瑞|sheng:盛|hong:宏|da:达|tong:通|heng:恒|yuan:源|jin:金|"
    "long:龙|kai:凯|"
    "an:安|yong:永|fu:富|chang:昌|xing:兴|tian:天|hai:海|de:德|mei:美|jia:嘉|bao:宝|ding:鼎|wei:伟|li:力|"
    "cheng:诚|guang:光|zhong:中|run:润|bo:博|yu:宇|ke:科|ming:明|shun:顺|kang:康|ao:奥|er:尔"
)
BRANDS_EN = _table(
    "Evergreen:常青|Sunrise:旭日|Blue Sky:蓝天|Pioneer:先锋|Harmony:和谐|Summit:峰顶|Great Wall:长城|"
    "Silver Dragon:银龙|Jade River:玉河|Red Maple:红枫|Pine Peak:松峰|Bright Star:明星|Crystal Lake:晶湖|"
    "Golden Sail:金帆|Phoenix:凤凰|Qilin:麒麟|Lotus:莲花|Orchid:兰花|Peony:牡丹|Morning Sun:朝阳"
)
# (English, Chinese, administrative division code used in USCCs and resident ID numbers)
PROVINCES = _table(
    "Shanghai:上海:310115|Beijing:北京:110105|Shenzhen:深圳:440304|Guangdong:广东:440106|"
    "Zhejiang:浙江:330106|"
    "Jiangsu:江苏:320106|Sichuan:四川:510104|Hubei:湖北:420103|Shandong:山东:370102|Fujian:福建:350102|"
    "Anhui:安徽:340102|Henan:河南:410102|Hunan:湖南:430102|Tianjin:天津:120101|Chongqing:重庆:500103|"
    "Shaanxi:陕西:610102|Gansu:甘肃:620102|Inner Mongolia:内蒙古:150102|Yunnan:云南:530102|"
    "Xinjiang:新疆:650102|Hebei:河北:130102|Liaoning:辽宁:210102|Jiangxi:江西:360102|Guangxi:广西:450102"
)
# (code, name, local name, city, province index, share of the book); the head office comes first.
BRANCHES = [
    ("HO", "Head Office", "总行", "Shanghai", 0, 0),
    ("SH01", "Shanghai Pudong Branch", "上海浦东分行", "Shanghai", 0, 18),
    ("BJ01", "Beijing Chaoyang Branch", "北京朝阳分行", "Beijing", 1, 16),
    ("SZ01", "Shenzhen Futian Branch", "深圳福田分行", "Shenzhen", 2, 14),
    ("GZ01", "Guangzhou Tianhe Branch", "广州天河分行", "Guangzhou", 3, 12),
    ("HZ01", "Hangzhou Xihu Branch", "杭州西湖分行", "Hangzhou", 4, 12),
    ("NJ01", "Nanjing Gulou Branch", "南京鼓楼分行", "Nanjing", 5, 10),
    ("CD01", "Chengdu Jinjiang Branch", "成都锦江分行", "Chengdu", 6, 9),
    ("WH01", "Wuhan Jianghan Branch", "武汉江汉分行", "Wuhan", 7, 9),
]
# ISIC Rev.4 class, English, Chinese
INDUSTRIES = _table(
    "2610:Electronics:电子|2710:Electric Motors:电机|2829:Machinery:机械|2930:Auto Parts:汽车零部件|"
    "2100:Pharmaceutical:制药|3250:Medical Devices:医疗器械|1311:Textiles:纺织|1410:Garments:服装|"
    "1079:Food:食品|"
    "2011:Chemical:化工|2410:Steel:钢铁|2220:Plastics:塑料制品|1702:Packaging:包装|4100:Construction:建设|"
    "4690:Trading:贸易|5229:Logistics:物流|6201:Software:软件|6810:Property:置业|3510:Solar:太阳能|"
    "3510:New Energy:新能源|3600:Water:水务|0111:Agriculture:农业|2720:Battery:电池|2731:Cable:电缆|"
    "2394:Building Materials:建材|3821:Environmental:环保|5510:Hotels:酒店|4711:Retail:商贸"
)
TRADES = _table(
    "4752:Hardware Store:五金店|5610:Restaurant:餐馆|4721:Fruit Shop:水果店|9602:Hair Salon:美发店|"
    "4771:Clothing Store:服装店|4923:Freight Service:货运部|1071:Bakery:面包坊|4520:Auto Repair:汽车修理厂|"
    "0113:Vegetable Farm:蔬菜种植场|5630:Tea House:茶馆"
)
PROJECTS = _table(
    "3510:Wind Power:风电|3510:Solar Power:光伏发电|3510:Hydropower:水电|4210:Expressway:高速公路|"
    "3700:Wastewater Treatment:污水处理|3821:Waste-to-Energy:垃圾焚烧发电|5222:Port:港口|"
    "3600:Water Supply:供水|"
    "3520:LNG Terminal:液化天然气接收站|6311:Data Centre:数据中心"
)
# ISIC, English form, Chinese form, USCC authority and type ({p}/{pz} province, {b}/{bz} brand)
FI_FORMS = _table(
    "6419:{p} {b} Rural Commercial Bank Co., Ltd.:{pz}{bz}农村商业银行股份有限公司:91|"
    "6491:{b} Financial Leasing Co., Ltd.:{bz}金融租赁有限公司:91|"
    "6612:{b} Securities Co., Ltd.:{bz}证券股份有限公司:91|"
    "6492:{p} {b} Microcredit Co., Ltd.:{pz}{bz}小额贷款有限公司:91|"
    "6430:{b} Trust Co., Ltd.:{bz}信托有限责任公司:91|"
    "6512:{b} Property & Casualty Insurance Co., Ltd.:{bz}财产保险股份有限公司:91"
)
INVESTOR_FORMS = _table(
    "6630:{b} Fund Management Co., Ltd.:{bz}基金管理有限公司:91|"
    "6630:{b} Asset Management Co., Ltd.:{bz}资产管理有限公司:91|"
    "6511:{b} Life Insurance Co., Ltd.:{bz}人寿保险股份有限公司:91|"
    "6430:{p} {b} Equity Investment Partnership (LP):{pz}{bz}股权投资合伙企业（有限合伙）:93"  # noqa: RUF001 - Chinese punctuation
)
PUBLIC_FORMS = _table(
    "8411:{p} {b} Urban Construction Investment Group Co., Ltd.:{pz}{bz}城市建设投资集团有限公司:91|"
    "4210:{p} {b} Transport Investment Group Co., Ltd.:{pz}{bz}交通投资集团有限公司:91|"
    "3600:{p} {b} Water Affairs Group Co., Ltd.:{pz}{bz}水务集团有限公司:91|"
    "8610:{p} {b} People's Hospital:{pz}{bz}人民医院:12|"
    "8530:{p} {b} Vocational University:{pz}{bz}职业大学:12|"
    "8411:{p} {b} District Finance Bureau:{pz}{bz}区财政局:11"
)
FOREIGN = _table("HK:Holdings Limited|SG:Pte. Ltd.|US:Inc.|GB:PLC|DE:GmbH")
FOREIGN_WORDS = _words(
    "Pacific Meridian Harbour Northern Crown Bridgewater Redwood Silverline Orient Kowloon Thames"
)
WESTERN_FIRST = _words("James Emma Oliver Sophie Daniel Charlotte Michael Grace David Hannah Wei Mei")
WESTERN_LAST = _words("Smith Wilson Taylor Brown Clarke Walker Wright Green Hall Lee Tan Lim Wong Chan")
MAIL_PROVIDERS = ("163.com", "qq.com", "126.com", "sina.com", "outlook.com")
KIND_SHARES = (
    ("sme", 0.45),
    ("corporate", 0.15),
    ("individual", 0.15),
    ("sole_trader", 0.10),
    ("project_company", 0.05),
    ("public_entity", 0.04),
    ("institutional_investor", 0.03),
    ("financial_institution", 0.03),
)
# How often each kind is in touch, relative to an SME.
KIND_ACTIVITY = {
    "individual": 0.5,
    "sole_trader": 0.7,
    "sme": 1.0,
    "corporate": 2.5,
    "project_company": 2.0,
    "institutional_investor": 1.5,
    "financial_institution": 1.5,
    "public_entity": 1.0,
}
CHANNELS = (
    "branch",
    "phone",
    "email",
    "web",
    "mobile_app",
    "partner_platform",
    "assistant",
    "meeting",
    "site_visit",
)
CHANNEL_WEIGHTS = (8, 22, 18, 10, 14, 5, 8, 10, 5)
STAFFED_CHANNELS = frozenset({"branch", "phone", "email", "meeting", "site_visit"})
CHANNEL_DIRECTIONS = {
    "branch": ("inbound", "inbound", "outbound"),
    "phone": ("inbound", "outbound", "outbound"),
    "email": ("inbound", "outbound"),
    "web": ("inbound",),
    "mobile_app": ("inbound",),
    "partner_platform": ("inbound",),
    "assistant": ("inbound",),
    "meeting": ("outbound", "outbound", "internal"),
    "site_visit": ("outbound",),
}
CHANNEL_SOURCE = {
    "email": "mail-gateway",
    "web": "web",
    "mobile_app": "mobile",
    "partner_platform": "partner-api",
    "assistant": "assistant",
}
CHANNEL_SUBJECTS = {
    "branch": "Counter enquiry about account opening|柜面咨询开户事宜|Signed facility documents at branch|"
    "网点签署授信文件",
    "phone": "Follow-up on working capital facility|流动资金贷款跟进|Interest rate query|利率咨询|"
    "Call about overdue documents|催收补充材料电话",
    "email": "Request for updated financial statements|索取最新财务报表|KYC document refresh|"
    "客户身份资料更新|"
    "Trade finance enquiry|贸易融资咨询",
    "web": "Online loan application started|线上贷款申请|Downloaded account statement|下载对账单",
    "mobile_app": "Mobile banking login issue|手机银行登录问题|Repayment made in app|手机银行还款",
    "partner_platform": "Partner referral received|合作平台推荐客户|Invoice data received from partner|"
    "合作平台发票数据推送",
    "assistant": "Assistant: repayment date question|智能助手：还款日查询|"  # noqa: RUF001
    "Assistant handed over to an agent|"
    "智能助手转人工",
    "meeting": "Quarterly business review|季度业务回顾|Renewal of credit line discussed|授信续期洽谈|"
    "FX hedging discussion|汇率避险方案讨论|Green loan eligibility discussion|绿色贷款资格沟通",
    "site_visit": "Site visit to production facility|生产基地实地走访|Project construction progress check|"
    "项目建设进度检查|Post-loan inspection|贷后现场检查",
}
TASKS = _table(
    "call:Call back about facility renewal|call:回电沟通授信续期|visit:Annual site visit|"
    "visit:年度实地走访|"
    "document:Collect updated financial statements|document:收集最新财务报表|"
    "follow_up:Follow up on KYC refresh|"
    "follow_up:跟进客户身份资料更新|meeting:Prepare quarterly review|meeting:准备季度回顾会议"
)
TITLES = {
    "director": "Chairman",
    "cfo": "Chief Financial Officer",
    "treasurer": "Treasurer",
    "authorised_signatory": "Finance Manager",
    "ubo": "Shareholder",
    "primary_contact": "Head of Finance",
    "sponsor_representative": "Sponsor Representative",
}
