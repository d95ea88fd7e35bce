def test_peek(client, auth):
    auth.login("mixup")
    for lang in ("en", "zh_CN"):
        client.set_cookie("lang", lang)
        r = client.get("/me/record/print")
        print(r.status_code)
        import re
        print(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", r.get_data(as_text=True)))[-2500:])
        r = client.get("/me/record.pdf")
        print(r.status_code, len(r.data))
        r = client.get("/me"); print(r.status_code)
        r = client.get("/me/export"); print(r.status_code)
