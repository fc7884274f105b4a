"""Short texts written for the tests (made-up handles, nothing graphic)."""

SOLICIT = ["同城上门服务 包夜 加微信 abc123", "楼凤 全套 包夜 价格美丽 看名字", "寂寞少妇 约炮 同城 私聊我",
           "上门服务 小姐 包夜 电话13800000000", "附近约 固炮 无偿 加qq 12345678", "escort outcall incall call me"]
EXPLICIT = ["卖片 资源 网址私聊", "福利视频 看片 加群 黄片", "麦偏 自拍 合集 需要私", "av 资源 免费 看 网盘",
            "porn videos free xxx link", "发 色情 视频 资源 打包"]
BENIGN = ["外卖很好吃 送餐很快", "今天天气很好 出去玩", "空调上门维修 师傅很专业", "按摩椅质量不错 推荐",
          "头疼吃什么药比较好", "手机屏幕很清楚 电池耐用", "这本书很好看 值得推荐", "小姐您好 您的快递到了",
          "game night with friends", "打飞机游戏真好玩", "手冲咖啡很香", "酒店干净 服务好"]
TINY_LEXICONS = {"porn_demo": {"terms": ["卖片", "黄片", "色情"]},
                 "solicitation_demo": {"terms": ["包夜", "楼凤", "约炮"]}}


