"""``govkiosk-promo``: the promotion screen (宣传辅助屏, §6.3 b), a second process beside the
touch UI (Kivy opens one window per process), on the second display or a region of one."""
