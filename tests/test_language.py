"""Pages are Chinese first; English only when chosen; the API follows Accept-Language."""


def test_pages_are_chinese_even_for_an_english_browser(world, client):
    client.force_login(world.collector)
    r = client.get("/cases/mine/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert r.status_code == 200
    assert "我的案件" in r.content.decode()


def test_english_when_chosen_with_the_switch(world, client):
    client.force_login(world.collector)
    client.post("/i18n/setlang/", {"language": "en", "next": "/cases/mine/"})
    body = client.get("/cases/mine/").content.decode()
    assert "My cases" in body and "我的案件" not in body
