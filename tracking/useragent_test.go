package tracking

import (
	"strings"
	"testing"
)

// uaCase is a real user agent and what the classifier must make of it.
type uaCase struct {
	ua     string
	device Device
	reason BotReason
}

// browserUAs are real browsers and in-app browsers on every platform. None of
// them may be flagged as a bot.
var browserUAs = []uaCase{
	// Desktop.
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.1 Safari/605.1.15", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; CrOS x86_64 13904.66.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.114 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.99 Safari/537.36 Vivaldi/2.9.1705.41", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.125 YaBrowser/17.7.1.791 Yowser/2.5 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Brave Chrome/76.0.3809.132 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; TNJB; rv:11.0) like Gecko", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; Touch; .NET4.0C; .NET4.0E; .NET CLR 2.0.50727; .NET CLR 3.0.30729; .NET CLR 3.5.30729; Tablet PC 2.0; wbx 1.0.0; rv:11.0) like Gecko", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.140 Safari/537.36 Edge/17.17134", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.57 Whale/3.14.133.23 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0.18362; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.4.2 Chrome/78.0.3904.130 Electron/7.2.1 Safari/537.36 WindowsStore/10.0.18362 Sonic Slack_SSB/4.4.2", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) discord/0.0.306 Chrome/78.0.3904.130 Electron/7.1.11 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_0) AppleWebKit/537.36 (KHTML, like Gecko) Spotify/1.1.9.383 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/63.0.3239.26 Safari/537.36 Core/1.63.6788.400 QQBrowser/10.3.2727.400", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/31.0.1650.63 Safari/537.36 SE 2.X MetaSr 1.0", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux i686; rv:45.9) Gecko/20100101 Goanna/3.0 Firefox/45.9 PaleMoon/27.1.2", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Thunderbird/45.8.0", DeviceDesktop, BotNone},
	{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; WOW64; Trident/7.0; SLCC2; .NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; MAGW; .NET4.0C; .NET4.0E; Microsoft Outlook 14.0.7113; ms-office; MSOffice 14)", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.21 (KHTML, like Gecko) konqueror/4.14.16 Safari/537.21", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/534.26+ (KHTML, like Gecko) Version/5.0 Safari/534.26+ Ubuntu/10.10 (2.30.6-1ubuntu5) Epiphany/2.30.6", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; FreeBSD amd64) AppleWebKit/605.1.15 (KHTML, like Gecko) Dooble/2.1.9.2", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0.16299.98; osmeta 10.3.3308) AppleWebKit/602.1.1 (KHTML, like Gecko) Version/9.0 Safari/602.1.1 osmeta/10.3.3308 Build/3308 [FBAN/FBW;FBAV/140.0.0.232.179;FBBV/83145113;FBDV/WindowsDevice;FBMD/Predator G9-793;FBSN/Windows;FBSV/10.0.16299.125;FBSS/1;FBCR/;FBID/desktop;FBLC/de_DE;FBOP/45;FBRV/0]", DeviceDesktop, BotNone},
	{"Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Atom/1.45.0 Chrome/69.0.3497.128 Electron/4.2.7 Safari/537.36", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.95 Safari/537.36 MicroMessenger/6.5.2.501 NetType/WIFI WindowsWechat QBCore/3.43.691.400 QQBrowser/9.0.2524.400", DeviceDesktop, BotNone},
	{"Mozilla/5.0 (Windows NT 6.2) AppleWebKit/537.36 (KHTML, like Gecko) QtWebEngine/5.5.1 Chrome/40.0.2214.115 Safari/537.36", DeviceDesktop, BotNone},

	// Phones.
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 EdgiOS/44.10.19 Mobile/15E148 Safari/605.1.15", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 123.1.0.26.115 (iPhone11,8; iOS 13_3; en_US; en-US; scale=2.00; 828x1792; 190542906)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 12_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/16A366 Instagram 66.0.0.14.101 (iPhone10,2; iOS 12_0; pt_BR; pt-BR; scale=2.61; gamut=wide; 1080x1920; 126719886)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15G77 [FBAN/FBIOS;FBAV/183.0.0.41.81;FBBV/119182652;FBDV/iPhone6,2;FBMD/iPhone;FBSN/iOS;FBSV/11.4.1;FBSS/2;FBCR/VIVO;FBID/phone;FBLC/pt_BR;FBOP/5;FBRV/0]", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone11,8;FBMD/iPhone;FBSN/iOS;FBSV/13.3.1;FBSS/2;FBID/phone;FBLC/en_US;FBOP/5;FBCR/]", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 12_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/17D50 Twitter for iPhone/8.10", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.1 Mobile/15E148 Snapchat/11.36.0.36 (like Safari/604.1)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_1_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Snapchat/10.69.5.72 (iPhone11,6; iOS 13.1.3; gzip)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/102.0.304944559 Mobile/15E148 Safari/604.1", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Mobile/14G60 wxwork/2.1.5 MicroMessenger/6.3.22", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.4 Mobile/15E148 DuckDuckGo/7 Safari/605.1.15", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1 (Ecosia ios@9.2.3.1367)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/605.1 NAVER(inapp; search; 2000; 12.3.6; 14PRO)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) OPT/5 Mobile/16B92", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X; zh-CN) AppleWebKit/537.51.1 (KHTML, like Gecko) Mobile/16B92 UCBrowser/12.1.7.1109 Mobile AliApp(TUnionSDK/0.1.20.3)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 12_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.0 Mobile/15E148 Safari/605.1.15 BingWeb/6.37.2.0", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 SP-engine/2.16.0 main/1.0 baiduboxapp/11.20.0.17 (Baidu; P2 13.3.1) NABar/1.0", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15G77 ChannelId(73) NebulaSDK/1.8.100112 Nebula PSDType(1) AlipayDefined(nt:4G,ws:320|504|2.0) AliApp(AP/10.1.30.300) AlipayClient/10.1.30.300 Alipay Language/zh-Hans", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_4 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) Mobile/13G35 QQ/6.5.3.410 V1_IPH_SQ_6.5.3_1_APP_A Pixel/750 Core/UIWebView NetType/2G Mem/117", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 12_1_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/16D5039a Safari/605.1 iLunascape/4310", DeviceMobile, BotNone},
	{"Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1", DeviceMobile, BotNone},
	{"Hulu/6.8.1 (iOS 13.3; en_US; iPhone12,1; 17C54)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 13; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0.0.0 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 7.1.2; google Pixel 2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0.0.0 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 9; SAMSUNG SM-G960U) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/10.2 Chrome/71.0.3578.99 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 7.0; SAMSUNG SM-G610M Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/7.4 Chrome/59.0.3071.125 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Android 11; Mobile; rv:105.0; Ghostery:3.0) Gecko/105.0 Firefox/105.0", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 11; CPH2211) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.166 Mobile Safari/537.36 OPR/65.2.3381.61420", DeviceMobile, BotNone},
	{"Opera/9.80 (Android; Opera Mini/12.0.1987/37.7327; U; pl) Presto/2.12.423 Version/12.16", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 9; SM-G950U Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.149 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/263.0.0.46.121;]", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 11; Pixel 2 Build/RP1A.201005.004.A1; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/91.0.4472.120 Mobile Safari/537.36 Instagram 194.0.0.36.172 Android (30/11; 420dpi; 1080x1878; Google/google; Pixel 2; walleye; walleye; en_US; 301484483)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; SM-G973F Build/QQ3A.200805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/85.0.4183.101 Mobile Safari/537.36 trill_2021806060 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/18.6.6 ByteLocale/fr ByteFullLocale/fr Region/FR", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; SM-G973U Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/79.0.3945.136 Mobile Safari/537.36Snapchat10.74.6.0 (SM-G973U; Android 10#G973USQS2CSL1#29; gzip)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 9; STF-L09 Build/HUAWEISTF-L09; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/79.0.3945.79 Mobile Safari/537.36 [Pinterest/Android]", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 7.0; FRD-AL00 Build/HUAWEIFRD-AL00; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/53.0.2785.49 Mobile MQQBrowser/6.2 TBS/043602 Safari/537.36 MicroMessenger/6.5.16.1120 NetType/WIFI Language/zh_CN", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 6.0; CUBOT MAX) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.121 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 8.0.0; CUBOT_P20) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.110 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 6.0; CUBOT DINOSAUR Build/MRA58K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/44.0.2403.119 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; MAR-LX3A; HMSCore 6.12.4.311; GMSCore 23.48.16) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.2.311 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; U; Android 9; pl-pl; Redmi Note 7 Build/PKQ1.180904.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/71.0.3578.141 Mobile Safari/537.36 XiaoMi/MiuiBrowser/11.4.3-g", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; U; Android 6.0.1; zh-CN; F5121 Build/34.0.A.1.247) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/40.0.2214.89 UCBrowser/11.5.1.944 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; arm_64; Android 11; Redmi Note 9S) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0.5112.124 YaApp_Android/22.95.1 YaSearchBrowser/22.95.1 BroPP/1.0 SA/3 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/84.0.4147.111 Mobile DuckDuckGo/5 Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Mobile Safari/537.36 (Ecosia android@111.0.5563.116)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 6 Build/UPB3.230519.014) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/115.0.5790.21 Mobile Safari/537.36 GNews Android/2022137898", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 6.0.1; SM-G532M Build/MMB29T; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/88.0.4324.181 Mobile Safari/537.36 GoogleApp/12.4.9.23.arm", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 8.1.0; vivo 1803 Build/O11019; wv) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/62.0.3202.84 Mobile Safari/537.36 VivoBrowser/6.2.0.1", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 9; Nokia 7 plus) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36 Brave/74", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 13; 23106RN0DA Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.120 Mobile Safari/537.36 Phantom/android/24.4.0.15916", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 8.0.0; LG-LS998 Build/OPR1.170623.026; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/74.0.3729.157 Mobile Safari/537.36 Flipboard/4.2.24/4732,4.2.24.4732", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 8.0.0; SM-G960U Build/R16NW; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/70.0.3538.110 Mobile Safari/537.36 BingWeb/9.4.26267402", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Linux; Android 7.0; Tesla_SP6.3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3770.143 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Job Search/24.4.0 Mozilla/5.0 (Linux; Android 14; SM-S918U Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 650) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15254", DeviceMobile, BotNone},
	{"Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; HUAWEI; 4Afrika)", DeviceMobile, BotNone},
	{"Mozilla/5.0 (BB10; Touch) AppleWebKit/537.35+ (KHTML, like Gecko) Version/10.3.2.2639 Mobile Safari/537.35+", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Series40; Nokia200/11.64; Profile/MIDP-2.1 Configuration/CLDC-1.1) Gecko/20100401 S40OviBrowser/2.0.2.68.14", DeviceMobile, BotNone},
	{"Mozilla/5.0 (Symbian/3; Series60/5.2 NokiaX7-00/0261.004; Profile/MIDP-2.1 Configuration/CLDC-1.1 ) AppleWebKit/533.4 (KHTML, like Gecko) NokiaBrowser/7.3.1.21 Mobile Safari/533.4 3gpp-gba", DeviceMobile, BotNone},

	// Tablets.
	{"Mozilla/5.0 (iPad; CPU OS 12_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 9_1 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) GSA/10.0.63022 Mobile/13B143 Safari/600.1.4", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Snapchat/10.77.0.54 (like Safari/604.1)", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 6_1_3 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Mobile/10B329 [Pinterest/iOS]", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 12_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/16C50 Flipboard/4.2.32", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 10_3_4 like Mac OS X) AppleWebKit/603.1.30 (KHTML, like Gecko) Mobile/14G61 Twitter for iPhone/7.51.5", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 12_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) OPT/1.11.0 Mobile/15E148", DeviceTablet, BotNone},
	{"Mozilla/5.0 (iPad; CPU OS 7_0_4 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Mercury/8.9.4 Mobile/11B554a Safari/9537.53", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 11; SM-T500 Build/RP1A.200720.012; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Safari/537.36 [FB_IAB/FB4A;FBAV/441.0.0.33.113;]", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 5.1.1; KFFOWI Build/LVY48F) AppleWebKit/537.36 (KHTML, like Gecko) Silk/60.2.12 like Chrome/60.0.3112.107 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 5.1.1; KFSUWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/80.5.3 like Chrome/80.0.3987.162 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; U; Android 2.3.4; en-us; Kindle Fire Build/GINGERBREAD) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533", DeviceTablet, BotNone},
	{"Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/533.2+ Kindle/3.0+", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; en-us; Silk/1.0.146.3-Gen4_12000410) AppleWebKit/533.16 (KHTML, like Gecko) Version/5.0 Safari/533.16 Silk-Accelerated=true", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 5.1.1; KFDOWI Build/LVY48F; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/70.0.3538.110 Safari/537.36 [Pinterest/Android]", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 4.4.2; BN NookHD+ Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/30.0.0.0 Safari/537.36", DeviceTablet, BotNone},
	{"Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US) AppleWebKit/536.2+ (KHTML, like Gecko) Version/7.2.1.0 Safari/536.2+", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 7.1.2; G011A Build/N2G48H; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.158 Safari/537.36 Viber/11.9.5.8", DeviceTablet, BotNone},
	{"Mozilla/5.0 (Linux; Android 7.1.1; Acer Chromebook R11 (CB5-132T, C738T) Build/R78-12499.51.0; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.96 Safari/537.36 [Pinterest/Android]", DeviceTablet, BotNone},

	// TVs, consoles, cars, headsets and other clients.
	{"Mozilla/5.0 (Linux; Android 5.1; AFTS Build/LMY47O) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/41.99900.2250.0242 Safari/537.36", DeviceOther, BotNone},
	{"Dalvik/2.1.0 (Linux; U; Android 5.1.1; AFTT Build/LVY48F) CTV", DeviceOther, BotNone},
	{"Mozilla/5.0 (CrKey armv7l 1.5.16041) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/31.0.1650.0 Safari/537.36", DeviceOther, BotNone},
	{"Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36", DeviceOther, BotNone},
	{"Mozilla/5.0 (SMART-TV; X11; Linux armv7l) AppleWebKit/537.42 (KHTML, like Gecko) Chromium/25.0.1349.2 Chrome/25.0.1349.2 Safari/537.42", DeviceOther, BotNone},
	{"Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager", DeviceOther, BotNone},
	{"Mozilla/5.0 (Web0S 10.0; Linux/SmartTV) Gecko/20100101 Firefox/72.0 IceDragon/72.0.2", DeviceOther, BotNone},
	{"Mozilla/5.0 (Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36 OPR/36.0.2128.0 OMI/4.8.0.129.ALISHAN6.19 VIZIO-DTV/V7.20.8 (Vizio, D32f-E1, wireless)", DeviceOther, BotNone},
	{"Mozilla/5.0 (SmartHub; Linux/SmartTV) AppleWebKit/606 (KHTML, like Gecko) SlimBrowser/11.0.8.0 Safari/606 OMI/4.8.0.129.PIXEL_UNICORN2.12", DeviceOther, BotNone},
	{"Mozilla/5.0 (Linux; Android 9; SHIELD Android TV Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/104.0.5112.97 Mobile Safari/537.36", DeviceOther, BotNone},
	{"Roku4640X/DVP-7.70 (297.70E04154A)", DeviceOther, BotNone},
	{"AppName/1 CFNetwork/758.1.3 AppleTV/16.0.0", DeviceOther, BotNone},
	{"Mozilla/5.0 (PlayStation 4 5.55) AppleWebKit/601.2 (KHTML, like Gecko)", DeviceOther, BotNone},
	{"Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15", DeviceOther, BotNone},
	{"Mozilla/5.0 (PlayStation Vita 3.61) AppleWebKit/537.73 (KHTML, like Gecko) Silk/3.2", DeviceOther, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.18363", DeviceOther, BotNone},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; XBOX_ONE_ED) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.79 Safari/537.36 Edge/14.14393", DeviceOther, BotNone},
	{"Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393", DeviceOther, BotNone},
	{"Mozilla/5.0 (Nintendo WiiU) AppleWebKit/536.30 (KHTML, like Gecko) NX/3.0.4.2.12 NintendoBrowser/4.3.1.11264.US", DeviceOther, BotNone},
	{"Mozilla/5.0 (Nintendo 3DS; U; ; en) Version/1.7412.EU", DeviceOther, BotNone},
	{"Mozilla/5.0 (X11; GNU/Linux) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/79.0.3945.130 Chrome/79.0.3945.130 Safari/537.36 Tesla/2020.12.1-299292ad7782", DeviceOther, BotNone},
	{"Mozilla/5.0 (X11; GNU/Linux) AppleWebKit/601.1 (KHTML, like Gecko) Tesla QtCarBrowser Safari/601.1", DeviceOther, BotNone},
	{"Mozilla/5.0 (X11; Linux x86_64; Quest 2) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/31.4.0.6.47 SamsungBrowser/4.0 Chrome/118.0.5993.159 VR Safari/537.36", DeviceOther, BotNone},
	{"Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 GNUTLS/3.6.5", DeviceOther, BotNone},
	{"NCSA_Mosaic/2.7b5 (X11;Linux 2.6.7 i686) libwww/2.12 modified", DeviceDesktop, BotNone},
	{"Viber/12.8.0.1 CFNetwork/1121.2.2 Darwin/19.3.0", DeviceOther, BotNone},
	{"RadiosNet/2.8.0 (Java; Android)", DeviceTablet, BotNone},
}

// botUAs are real preview fetchers, crawlers, HTTP libraries and headless
// browsers.
var botUAs = []uaCase{
	// Link previews.
	{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", DeviceBot, BotPreview},
	{"Slack-ImgProxy (+https://api.slack.com/robots)", DeviceBot, BotPreview},
	{"Slackbot 1.0 (+https://api.slack.com/robots)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", DeviceBot, BotPreview},
	{"WhatsApp/2.23.20.0 A", DeviceBot, BotPreview},
	{"WhatsApp/2.21.12.21 A", DeviceBot, BotPreview},
	{"whatsapp/2.2123.8 n", DeviceBot, BotPreview},
	{"WhatsApp/2", DeviceBot, BotPreview},
	{"TelegramBot (like TwitterBot)", DeviceBot, BotPreview},
	{"Twitterbot/1.0", DeviceBot, BotPreview},
	{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", DeviceBot, BotPreview},
	{"facebookexternalhit/1.1", DeviceBot, BotPreview},
	{"facebookcatalog/1.0", DeviceBot, BotPreview},
	{"facebot", DeviceBot, BotPreview},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", DeviceBot, BotPreview},
	{"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", DeviceBot, BotPreview},
	{"LinkedInBot/1.0 (compatible; Mozilla/5.0; Jakarta Commons-HttpClient/3.1 +http://www.linkedin.com)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", DeviceBot, BotPreview},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36 Edg/112.0.1722.68 (compatible; MicrosoftPreview/2.0; +https://aka.ms/MicrosoftPreview)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)", DeviceBot, BotPreview},
	{"Pinterest/0.2 (+http://www.pinterest.com/bot.html)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)", DeviceBot, BotPreview},
	{"Iframely/1.3.1 (+https://iframely.com/docs/about)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)", DeviceBot, BotPreview},
	{"Viber", DeviceBot, BotPreview},
	{"facebookexternalhit/1.1;line-poker/1.0", DeviceBot, BotPreview},
	{"facebookexternalhit/1.1; kakaotalk-scrap/1.0; +https://devtalk.kakao.com/t/scrap/33984", DeviceBot, BotPreview},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0.4758.102 Safari/537.36 (compatible; Snap URL Preview Service; bot; snapchat_proxy)", DeviceBot, BotPreview},
	{"Mastodon/4.2.1 (http.rb/5.1.1; +https://mastodon.social/)", DeviceBot, BotPreview},
	{"http.rb/3.2.0 (Mastodon/2.4.3; +https://uwu.social/)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)", DeviceBot, BotPreview},
	{"Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/56.0.2924.87 Safari/537.36 Google (+https://developers.google.com/+/web/snippet/)", DeviceBot, BotPreview},
	{"Mozilla/5.0 (X11; Linux x86_64)  AppleWebKit/537.36 (KHTML, like Gecko; Google Web Preview)  Chrome/84.0.4147.108 Safari/537.36", DeviceBot, BotPreview},
	{"Quora Link Preview/1.0 (http://www.quora.com)", DeviceBot, BotPreview},
	{"Yahoo:LinkExpander:Slingstone", DeviceBot, BotPreview},
	{"Bitrix link preview", DeviceBot, BotPreview},
	{"Tumblr/14.0.835.186", DeviceBot, BotPreview},
	{"Mattermost-Bot/1.1", DeviceBot, BotPreview},

	// Search engines.
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/84.0.4147.108 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.92 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", DeviceBot, BotCrawler},
	{"Googlebot-Image/1.0", DeviceBot, BotCrawler},
	{"AdsBot-Google (+http://www.google.com/adsbot.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) Version/9.0 Mobile/13B143 Safari/601.1 (compatible; AdsBot-Google-Mobile; +http://www.google.com/mobile/adsbot.html)", DeviceBot, BotCrawler},
	{"Mediapartners-Google", DeviceBot, BotCrawler},
	{"APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)", DeviceBot, BotCrawler},
	{"FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Google-InspectionTool/1.0)", DeviceBot, BotCrawler},
	{"GoogleOther", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 4.2.1; en-us; Nexus 5 Build/JOP40D) AppleWebKit/535.19 (KHTML, like Gecko; googleweblight) Chrome/38.0.1025.166 Mobile Safari/535.19", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.75 Safari/537.36 Google Favicon", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 8.0; Pixel 2 Build/OPD3.170816.012; DuplexWeb-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.131 Mobile Safari/537.36", DeviceBot, BotCrawler},
	{"GoogleHC/1.0", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows; U; Windows NT 5.1; zh-CN; rv:1.9.2.8;baidu Transcoder) Gecko/20100722 Firefox/3.6.8 ( .NET CLR 3.5.30729)", DeviceBot, BotCrawler},
	{"DuckDuckBot/1.0; (+http://duckduckgo.com/duckduckbot.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", DeviceBot, BotCrawler},
	{"Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.1 (KHTML, like Gecko) Chrome/21.0.1180.89 Safari/537.1; 360Spider", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/69.0.3497.81 YisouSpider/5.0 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; SeznamBot/4.0-RC1 +http://napoveda.seznam.cz/seznambot-intro/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Qwantify/2.2w; +https://www.qwant.com/)/*", DeviceBot, BotCrawler},
	{"Yeti/1.1 (Naver Corp.; http://help.naver.com/robots/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; coccocbot-web/1.0; +http://help.coccoc.com/searchengine)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Exabot/3.0; +http://www.exabot.com/go/robot)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; MojeekBot/0.6; http://www.mojeek.com/bot.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; MSIE or Firefox mutant;) Daum 4.1", DeviceBot, BotCrawler},
	{"ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; archive.org_bot +http://www.archive.org/details/archive.org_bot)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; worio bot heritrix/1.10.0 +http://worio.com)", DeviceBot, BotCrawler},

	// AI crawlers and assistants.
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", DeviceBot, BotCrawler},
	{"anthropic-ai", DeviceBot, BotCrawler},
	{"claude-web/1.0", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)", DeviceBot, BotCrawler},
	{"CCBot/2.0 (https://commoncrawl.org/faq/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", DeviceBot, BotCrawler},
	{"meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)", DeviceBot, BotCrawler},
	{"cohere-ai", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Diffbot/0.1; +http://www.diffbot.com)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; ImagesiftBot; +imagesift.com)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Timpibot/0.8; +http://www.timpi.io)", DeviceBot, BotCrawler},
	{"omgili/0.5 +http://omgili.com", DeviceBot, BotCrawler},
	{"Scrapy/2.11.0 (+https://scrapy.org)", DeviceBot, BotCrawler},

	// SEO, marketing and ad verification.
	{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; AhrefsSiteAudit/6.1; +http://ahrefs.com/robot/site-audit)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; SiteAuditBot/0.97; +http://www.semrush.com/bot.html)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)", DeviceBot, BotCrawler},
	{"rogerbot/1.2 (https://moz.com/help/guides/moz-procedures/what-is-rogerbot, rogerbot-crawler+aardwolf-crawler-45@moz.com)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; BLEXBot/1.0; +http://webmeup-crawler.com/)", DeviceBot, BotCrawler},
	{"serpstatbot/2.1 (advanced backlink tracking bot; https://serpstatbot.com/; abuse@serpstatbot.com)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Barkrowler/0.9; +https://babbar.tech/crawler)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; DataForSeoBot/1.0; +https://dataforseo.com/dataforseo-bot)", DeviceBot, BotCrawler},
	{"Screaming Frog SEO Spider/2.22", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; SISTRIX Crawler; http://crawler.sistrix.net/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0) LinkCheck by Siteimprove.com", DeviceBot, BotCrawler},
	{"W3C_Validator/1.767", DeviceBot, BotCrawler},
	{"W3C-checklink/4.81 libwww-perl/5.836", DeviceBot, BotCrawler},
	{"Xenu Link Sleuth/1.3.8", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Wappalyzer; +https://github.com/AliasIO/Wappalyzer)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Dataprovider/6.92; +https://www.dataprovider.com/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; proximic; +https://www.comscore.com/Web-Crawler)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; GrapeshotCrawler/2.0; +http://www.grapeshot.co.uk/crawler.php)", DeviceBot, BotCrawler},
	{"magpie-crawler/1.1 (U; Linux amd64; en-GB; +http://www.brandwatch.net)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows; U; Windows NT 6.0; en-GB; rv:1.0; trendictionbot0.5.0; trendiction search; http://www.trendiction.de/bot; please let us know of any problems; web at trendiction.com) Gecko/20071127 Firefox/3.0.0.11", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Yahoo Ad monitoring; https://help.yahoo.com/kb/yahoo-ad-monitoring-SLN24857.html)", DeviceBot, BotCrawler},

	// Feed readers.
	{"Feedly/1.0 (+http://www.feedly.com/fetcher.html; 2 subscribers; like FeedFetcher-Google)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; inoreader.com; 2 subscribers)", DeviceBot, BotCrawler},
	{"Feedbin - 9 subscribers", DeviceBot, BotCrawler},
	{"Tiny Tiny RSS/1.11.4c63934 (http://tt-rss.org/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows NT 6.1) AppleWebKit/602.1 (KHTML, like Gecko) QuiteRSS/0.18.12 Safari/602.1", DeviceBot, BotCrawler},

	// Uptime, performance and synthetic monitoring.
	{"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", DeviceBot, BotCrawler},
	{"Uptime-Kuma/1.23.13", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Uptimebot/1.0; +http://www.uptime.com/uptimebot)", DeviceBot, BotCrawler},
	{"Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/61.0.3163.100 Chrome/61.0.3163.100 Safari/537.36 PingdomPageSpeed/1.0 (pingbot/2.0; +http://www.pingdom.com/)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows NT 6.2; WOW64) AppleWebKit/537.4 (KHTML, like Gecko) Chrome/98 Safari/537.4 (StatusCake)", DeviceBot, BotCrawler},
	{"Site24x7", DeviceBot, BotCrawler},
	{"Datadog Agent/5.10.1", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 DatadogSynthetics", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X) AppleWebKit/602.1.50 (KHTML, like Gecko) CriOS/56.0.2924.75 Mobile/14E5239e Safari/602.1 RuxitSynthetic/1.0", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64; Catchpoint) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3770.90 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64; GTmetrix https://gtmetrix.com/) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3770.100 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 7.0; Moto G (4)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/84.0.4143.7 Mobile Safari/537.36 Chrome-Lighthouse", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Linux; Android 6.0.1; Moto G (4) Build/MPJ24.139-64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/65.0.3325.146 Mobile Safari/537.36 PTST/180829.190838", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36 DareBoost", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (X11; Linux x86_64; Rigor) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.106 Safari/537.36", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.117 Safari/537.36 DMBrowser/2.1 (BV; LV)", DeviceBot, BotCrawler},
	{"kube-probe/1.15", DeviceBot, BotCrawler},
	{"ELB-HealthChecker/2.0", DeviceBot, BotCrawler},
	{"Amazon-Route53-Health-Check-Service (ref b0eb04d5-cb5e-40e7-839b-558e52fc3f0d; report http://amzn.to/1vsZADi)", DeviceBot, BotCrawler},
	{"prometheus/2.18.1", DeviceBot, BotCrawler},
	{"check_http/v2.2.1 (nagios-plugins 2.2.1)", DeviceBot, BotCrawler},
	{"Zabbix", DeviceBot, BotCrawler},
	{"updown.io daemon 2.2", DeviceBot, BotCrawler},

	// Scanners.
	{"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", DeviceBot, BotCrawler},
	{"masscan/1.0 (https://github.com/robertdavidgraham/masscan)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", DeviceBot, BotCrawler},
	{"Nuclei - Open-source project (github.com/projectdiscovery/nuclei)", DeviceBot, BotCrawler},
	{"sqlmap/1.1.8.2#dev (http://sqlmap.org)", DeviceBot, BotCrawler},
	{"Mozilla/5.0 (compatible; Let's Encrypt validation server; +https://www.letsencrypt.org)", DeviceBot, BotCrawler},

	// HTTP libraries and command-line clients.
	{"curl/8.4.0", DeviceBot, BotLibrary},
	{"curl/7.68.0", DeviceBot, BotLibrary},
	{"Wget/1.21.4", DeviceBot, BotLibrary},
	{"Wget/1.20.3 (linux-gnu)", DeviceBot, BotLibrary},
	{"python-requests/2.31.0", DeviceBot, BotLibrary},
	{"Python-urllib/3.11", DeviceBot, BotLibrary},
	{"Python/3.11 aiohttp/3.9.1", DeviceBot, BotLibrary},
	{"python-httpx/0.25.2", DeviceBot, BotLibrary},
	{"Go-http-client/1.1", DeviceBot, BotLibrary},
	{"Go-http-client/2.0", DeviceBot, BotLibrary},
	{"Go 1.1 package http", DeviceBot, BotLibrary},
	{"go-resty/2.3.0 (https://github.com/go-resty/resty)", DeviceBot, BotLibrary},
	{"okhttp/4.12.0", DeviceBot, BotLibrary},
	{"okhttp/3.4.1", DeviceBot, BotLibrary},
	{"Java/17.0.2", DeviceBot, BotLibrary},
	{"Java/1.8.0_121", DeviceBot, BotLibrary},
	{"Java-http-client/17.0.2", DeviceBot, BotLibrary},
	{"Apache-HttpClient/4.5.13 (Java/11.0.13)", DeviceBot, BotLibrary},
	{"Apache-HttpClient/4.3.6 (java 1.5)", DeviceBot, BotLibrary},
	{"Jakarta Commons-HttpClient/3.1", DeviceBot, BotLibrary},
	{"grpc-java-netty/1.28.1", DeviceBot, BotLibrary},
	{"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", DeviceBot, BotLibrary},
	{"node-fetch", DeviceBot, BotLibrary},
	{"axios/1.6.2", DeviceBot, BotLibrary},
	{"axios/0.21.4, XFF:35.228.69.34", DeviceBot, BotLibrary},
	{"undici", DeviceBot, BotLibrary},
	{"node", DeviceBot, BotLibrary},
	{"got (https://github.com/sindresorhus/got)", DeviceBot, BotLibrary},
	{"PostmanRuntime/7.36.0", DeviceBot, BotLibrary},
	{"insomnia/8.4.5", DeviceBot, BotLibrary},
	{"libwww-perl/6.72", DeviceBot, BotLibrary},
	{"lwp-trivial/5.810", DeviceBot, BotLibrary},
	{"GuzzleHttp/7", DeviceBot, BotLibrary},
	{"PHP/5.2.14", DeviceBot, BotLibrary},
	{"Ruby", DeviceBot, BotLibrary},
	{"Faraday v1.10.3", DeviceBot, BotLibrary},
	{"rest-client/2.1.0 (linux-gnu x86_64) ruby/3.0.2p107", DeviceBot, BotLibrary},
	{"HTTPie/3.2.2", DeviceBot, BotLibrary},
	{"Dart/3.2 (dart:io)", DeviceBot, BotLibrary},
	{"reqwest/0.11.22", DeviceBot, BotLibrary},
	{"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3031", DeviceBot, BotLibrary},
	{"ApacheBench/2.3", DeviceBot, BotLibrary},
	{"k6/0.47.0 (https://k6.io/)", DeviceBot, BotLibrary},
	{"Deno/1.38.0", DeviceBot, BotLibrary},
	{"Bun/1.0.14", DeviceBot, BotLibrary},
	{"RestSharp/106.5.4.0", DeviceBot, BotLibrary},
	{"Microsoft Office Existence Discovery", DeviceBot, BotLibrary},
	{"Microsoft Office Protocol Discovery", DeviceBot, BotLibrary},
	{"Microsoft-CryptoAPI/10.0", DeviceBot, BotLibrary},
	{"lua-resty-http/0.10 (Lua) ngx_lua/10000", DeviceBot, BotLibrary},
	{"Valve/Steam HTTP Client 1.0", DeviceBot, BotLibrary},
	{"Typhoeus - https://github.com/typhoeus/typhoeus", DeviceBot, BotLibrary},
	{"Mozilla/5.0libwww-perl/5.826", DeviceBot, BotLibrary},

	// Headless and automated browsers.
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36", DeviceBot, BotHeadless},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", DeviceBot, BotHeadless},
	{"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", DeviceBot, BotHeadless},
	{"phantomas/1.11.0 (PhantomJS/1.9.8; linux x64)", DeviceBot, BotHeadless},
	{"Mozilla/5.0 (linux) AppleWebKit/537.36 (KHTML, like Gecko) jsdom/20.0.3", DeviceBot, BotHeadless},
	{"Mozilla/5.0 Chrome/10.0.613.0 Safari/534.15 Zombie.js/6.1.4", DeviceBot, BotHeadless},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:38.0) Gecko/20100101 SlimerJS/0.10.3", DeviceBot, BotHeadless},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Cypress/13.6.0 Chrome/114.0.5735.289 Electron/25.8.4 Safari/537.36", DeviceBot, BotHeadless},
	{"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3159.5 Safari/537.36 Prerender (+https://github.com/prerender/prerender)", DeviceBot, BotHeadless},

	// No user agent at all.
	{"", DeviceBot, BotEmptyUA},
	{"-", DeviceBot, BotEmptyUA},
}

func TestClassifyUserAgent(t *testing.T) {
	if n := len(browserUAs) + len(botUAs); n < 300 {
		t.Fatalf("unexpected number of real user agents; got %d; want at least 300", n)
	}
	for _, tc := range append(append([]uaCase(nil), browserUAs...), botUAs...) {
		got := classifyUserAgent(trimSpace([]byte(tc.ua)))
		if got.reason != tc.reason {
			t.Errorf("unexpected bot reason for %q; got %q; want %q", tc.ua, got.reason, tc.reason)
		}
		if got.device != tc.device {
			t.Errorf("unexpected device for %q; got %q; want %q", tc.ua, got.device, tc.device)
		}
	}
}

func TestClassifyUserAgentIgnoresCase(t *testing.T) {
	for _, tc := range botUAs {
		for _, ua := range []string{strings.ToUpper(tc.ua), strings.ToLower(tc.ua)} {
			got := classifyUserAgent(trimSpace([]byte(ua)))
			if got.reason != tc.reason {
				t.Errorf("unexpected bot reason for %q; got %q; want %q", ua, got.reason, tc.reason)
			}
		}
	}
}

func TestUATokensAreUnique(t *testing.T) {
	seen := make(map[string]bool)
	for _, tok := range uaTokens {
		key := tok.text + "\x00" + string(rune(tok.flags))
		if seen[key] {
			t.Errorf("unexpected duplicate token; got %q twice; want it once", tok.text)
		}
		seen[key] = true
	}
}

func TestMatcherFlags(t *testing.T) {
	m := newMatcher([]token{
		{text: "ab", feat: 1, flags: atStart},
		{text: "cd", feat: 2, flags: atEnd},
		{text: "ef", feat: 4, flags: wordStart | wordEnd},
		{text: "gh", feat: 8, flags: noSpace},
		{text: "b", feat: 16},
	})
	tests := []struct {
		in   string
		want uint64
	}{
		{"AB", 1 | 16},
		{"xab", 16},
		{"cd", 2},
		{"cdx", 0},
		{"x ef y", 4},
		{"xef", 0},
		{"efx", 0},
		{"ef", 4},
		{"gh/1.0", 8},
		{"gh 1.0", 0},
		{"", 0},
		{"\xff\xfeab\x00", 16},
	}
	for _, tc := range tests {
		if got := m.scan([]byte(tc.in)); got != tc.want {
			t.Errorf("unexpected features for %q; got %b; want %b", tc.in, got, tc.want)
		}
	}
}

func TestMatcherOverlaps(t *testing.T) {
	// Aho-Corasick must report tokens that end inside other tokens.
	m := newMatcher([]token{
		{text: "he", feat: 1},
		{text: "she", feat: 2},
		{text: "his", feat: 4},
		{text: "hers", feat: 8},
	})
	if got, want := m.scan([]byte("ushers")), uint64(1|2|8); got != want {
		t.Fatalf("unexpected features; got %b; want %b", got, want)
	}
}
