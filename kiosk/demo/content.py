"""The demo library's books: public-domain classics and short texts written for the demo.

Each chapter's text is spoken by espeak-ng when it is installed; otherwise the
chapter is a calm generated tone piece of about ``fallback_s`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoChapter:
    """One chapter to synthesise."""

    title: str
    text: str
    fallback_s: int


@dataclass(frozen=True)
class DemoBook:
    """One book of the demo library."""

    section_slug: str
    title: str
    title_en: str
    author: str
    reader: str
    description: str
    chapters: tuple[DemoChapter, ...]


DEMO_BOOKS: tuple[DemoBook, ...] = (
    DemoBook(
        section_slug="jingdian-songdu",
        title="唐诗三首",
        title_en="Three Tang Poems",
        author="李白 王之涣 孟浩然",
        reader="王晓明",
        description="三首家喻户晓的唐诗，适合慢慢听、跟着读。",
        chapters=(
            DemoChapter("静夜思", "静夜思。唐，李白。床前明月光，疑是地上霜。举头望明月，低头思故乡。"
                        "这首诗写的是秋夜里对故乡的思念。再读一遍：床前明月光，疑是地上霜。举头望明月，低头思故乡。", 40),
            DemoChapter("登鹳雀楼", "登鹳雀楼。唐，王之涣。白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
                        "鹳雀楼在山西永济，登楼远望，可以看到黄河。再读一遍：白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", 45),
            DemoChapter("春晓", "春晓。唐，孟浩然。春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
                        "春天的早晨，鸟儿在歌唱。再读一遍：春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", 40),
        ),
    ),
    DemoBook(
        section_slug="mingjia-mingpian",
        title="春",
        title_en="Spring",
        author="朱自清",
        reader="林静",
        description="朱自清的散文名篇，写尽了春天的生机。节选朗读。",
        chapters=(
            DemoChapter("盼望着", "盼望着，盼望着，东风来了，春天的脚步近了。一切都像刚睡醒的样子，欣欣然张开了眼。"
                        "山朗润起来了，水涨起来了，太阳的脸红起来了。小草偷偷地从土里钻出来，嫩嫩的，绿绿的。"
                        "园子里，田野里，瞧去，一大片一大片满是的。坐着，躺着，打两个滚，踢几脚球，赛几趟跑，捉几回迷藏。"
                        "风轻悄悄的，草软绵绵的。", 75),
            DemoChapter("春天像小姑娘", "春天像刚落地的娃娃，从头到脚都是新的，它生长着。"
                        "春天像小姑娘，花枝招展的，笑着，走着。春天像健壮的青年，有铁一般的胳膊和腰脚，领着我们上前去。", 50),
        ),
    ),
    DemoBook(
        section_slug="zhongguo-jingshen",
        title="可爱的中国",
        title_en="Lovely China",
        author="方志敏",
        reader="李国华",
        description="方志敏烈士在狱中写下的文字，饱含对祖国的深情。节选朗读。",
        chapters=(
            DemoChapter("母亲", "朋友，中国是生育我们的母亲。你们觉得这位母亲可爱吗？我想你们是和我一样的见解，都觉得这位母亲是蛮可爱蛮可爱的。"
                        "以言气候，中国处于温带，不十分热，也不十分冷，好像我们母亲的体温，不高不低，最适宜于孩儿们的偎依。", 70),
            DemoChapter("美丽的山河", "以言国土，中国土地广大，纵横万数千里，好像我们的母亲是一个身体魁大、胸宽背阔的妇人。"
                        "中国海岸线之长而且弯曲，照现代地理学者说，海岸线愈长愈曲，则其文化发达愈早。", 60),
        ),
    ),
    DemoBook(
        section_slug="zhongguo-jingshen",
        title="少年中国说",
        title_en="On Young China",
        author="梁启超",
        reader="李国华",
        description="梁启超一九〇〇年的名篇，激励了一代又一代青年。节选朗读。",
        chapters=(
            DemoChapter("少年强则国强", "故今日之责任，不在他人，而全在我少年。少年智则国智，少年富则国富；"
                        "少年强则国强，少年独立则国独立；少年自由则国自由；少年进步则国进步；"
                        "少年胜于欧洲，则国胜于欧洲；少年雄于地球，则国雄于地球。", 50),
            DemoChapter("美哉少年中国", "红日初升，其道大光。河出伏流，一泻汪洋。潜龙腾渊，鳞爪飞扬。"
                        "乳虎啸谷，百兽震惶。鹰隼试翼，风尘翕张。美哉我少年中国，与天不老！壮哉我中国少年，与国无疆！", 45),
        ),
    ),
    DemoBook(
        section_slug="fenghuo-jiyi",
        title="一封家书",
        title_en="A Letter Home",
        author="有声图书馆编辑部",
        reader="赵老兵",
        description="根据老战士的回忆整理：烽火岁月里，一封写给母亲的信。",
        chapters=(
            DemoChapter("写给母亲", "娘，儿子在前方一切都好，您不要挂念。这里的乡亲待我们像自家人，送来热水和干粮。"
                        "等打完了仗，我就回家，帮您把那几亩地种好，再把院墙修一修。天冷了，您要多穿衣裳。", 55),
        ),
    ),
    DemoBook(
        section_slug="sanjin-wenhua",
        title="走进平遥古城",
        title_en="Inside Pingyao",
        author="有声图书馆编辑部",
        reader="王晓明",
        description="带您走一走山西平遥的城墙、街巷和票号。",
        chapters=(
            DemoChapter("城墙与街巷", "平遥古城的城墙建于明代，周长六千多米，至今保存完整。城里的街巷横平竖直，"
                        "南大街上店铺林立。站在城墙上往下看，青砖灰瓦连成一片，仿佛回到了几百年前。", 55),
            DemoChapter("日升昌票号", "日升昌被称为中国银行业的鼻祖。当年的晋商在这里办理异地汇兑，"
                        "一张汇票走遍大江南北。如今，票号旧址成了博物馆，讲述着晋商诚信经营的故事。", 50),
        ),
    ),
    DemoBook(
        section_slug="kepu-tiandi",
        title="月亮为什么有圆缺",
        title_en="Why the Moon Changes Shape",
        author="有声图书馆编辑部",
        reader="陈思远",
        description="用简单的话讲月相的变化。",
        chapters=(
            DemoChapter("月相的秘密", "月亮自己不会发光，我们看到的月光是它反射的太阳光。月亮绕着地球转，"
                        "太阳照亮的那一半有时朝向我们多，有时朝向我们少，于是我们就看到了新月、上弦月、满月和下弦月。"
                        "一个来回大约二十九天半。", 60),
        ),
    ),
    DemoBook(
        section_slug="qianyan-jiedu",
        title="人工智能是什么",
        title_en="What Is Artificial Intelligence",
        author="有声图书馆编辑部",
        reader="陈思远",
        description="用大白话讲清楚人工智能：它会什么，不会什么，和我们的生活有什么关系。",
        chapters=(
            DemoChapter("会学习的机器", "人工智能，说的是让机器做一些过去只有人才会做的事情，比如认字、听话、下棋、翻译。"
                        "它的本领不是天生的，而是从大量的例子里学出来的。就像孩子看多了猫的照片，就认得猫一样。"
                        "不过，机器学到的只是规律，它并不真正懂得猫是什么。", 70),
            DemoChapter("身边的人工智能", "手机里的语音输入，地图里的路线推荐，看病时帮助医生读片子的软件，都用到了人工智能。"
                        "用好它，可以省时省力；但也要记住，重要的事情还要自己拿主意。", 55),
        ),
    ),
    DemoBook(
        section_slug="tongsheng-tongqu",
        title="小兔子乖乖",
        title_en="Little Rabbit, Be Good",
        author="传统童谣",
        reader="小雨点",
        description="孩子们最喜欢的童谣，一起拍手唱起来。",
        chapters=(
            DemoChapter("小兔子乖乖", "小兔子乖乖，把门儿开开，快点儿开开，我要进来。不开不开我不开，妈妈没回来，谁来也不开。"
                        "小兔子乖乖，把门儿开开，快点儿开开，我要进来。就开就开我就开，妈妈回来了，我来把门开。", 45),
        ),
    ),
    DemoBook(
        section_slug="jiankang-shenghuo",
        title="每天走一走",
        title_en="A Walk a Day",
        author="有声图书馆编辑部",
        reader="张医生",
        description="适合中老年朋友的散步小常识。",
        chapters=(
            DemoChapter("怎样散步", "饭后不要马上散步，最好休息半个小时再出门。散步的时候，抬头挺胸，步子不要太大，"
                        "以身上微微出汗、说话不喘为好。每天走三十分钟左右，贵在坚持。天气太冷太热的时候，可以在室内活动。", 60),
        ),
    ),
)


@dataclass(frozen=True)
class DemoText:
    """A text offered at the booth's teleprompter."""

    title: str
    author: str
    body: str


DEMO_TEXTS: tuple[DemoText, ...] = (
    DemoText("静夜思", "李白", "床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。"),
    DemoText("春晓", "孟浩然", "春眠不觉晓，\n处处闻啼鸟。\n夜来风雨声，\n花落知多少。"),
    DemoText(
        "春（节选）",
        "朱自清",
        "盼望着，盼望着，东风来了，春天的脚步近了。\n"
        "一切都像刚睡醒的样子，欣欣然张开了眼。山朗润起来了，水涨起来了，太阳的脸红起来了。\n"
        "小草偷偷地从土里钻出来，嫩嫩的，绿绿的。园子里，田野里，瞧去，一大片一大片满是的。",
    ),
    DemoText(
        "少年中国说（节选）",
        "梁启超",
        "故今日之责任，不在他人，而全在我少年。少年智则国智，少年富则国富；"
        "少年强则国强，少年独立则国独立；少年自由则国自由；少年进步则国进步。",
    ),
)
